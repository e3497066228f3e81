/**
 * Reading a check of the task model: its kind and fields, typed. `CheckModel` is the zod output of
 * a union of strict objects, which TypeScript sees as a loose record, so the fields are narrowed
 * here once instead of at every use.
 */
import { CHECK_KIND_NAMES, type CheckKind } from '../model/schema';
import { parseDuration } from '../run/load';
import type { CheckModel } from '../run/types';

export const HOST_KINDS = ['file_exists', 'file_absent', 'file_matches', 'file_equals', 'json', 'csv'] as const;
export const SANDBOX_KINDS = ['command', 'python'] as const;
export type HostKind = (typeof HOST_KINDS)[number];
export type SandboxKind = (typeof SANDBOX_KINDS)[number];

export function checkKind(check: CheckModel): CheckKind | undefined {
  const c = check as Record<string, unknown>;
  return CHECK_KIND_NAMES.find((k) => c[k] !== undefined);
}

export function isHostKind(kind: CheckKind | undefined): kind is HostKind {
  return (HOST_KINDS as readonly string[]).includes(kind ?? '');
}

export function checkWeight(check: CheckModel): number {
  const w = (check as { weight?: unknown }).weight;
  return typeof w === 'number' && Number.isFinite(w) && w >= 0 ? w : 1;
}

export function checkId(check: CheckModel): string {
  const id = (check as { id?: unknown }).id;
  return typeof id === 'string' ? id : '(no id)';
}

/** `30s`, `15m`, `1h`, `250ms` or a number of seconds, in milliseconds; undefined when absent or malformed. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  try {
    const ms = parseDuration(value);
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** The per-check time limit: the check's own `timeout`, else the verifier's. */
export function checkTimeoutMs(check: CheckModel, verifierTimeoutMs: number): number {
  return durationMs((check as { timeout?: unknown }).timeout) ?? verifierTimeoutMs;
}

/** Check fields by kind, as the schema defines them. */
export interface CheckFields {
  file_exists: string;
  file_absent: string;
  file_matches: { path: string; pattern: string; flags?: string };
  file_equals: { path: string; text?: string; from?: string };
  json: { path: string; query: string; equals?: unknown; type?: string; between?: [number, number] };
  csv: { path: string; columns?: string[]; rows?: number; where?: Record<string, string | number | boolean> };
  command: string;
  python: string;
}

export function field<K extends CheckKind>(check: CheckModel, kind: K): CheckFields[K] {
  return (check as Record<string, unknown>)[kind] as CheckFields[K];
}
