/**
 * The server's settings, read from the client's `clawgym` configuration section. The names match
 * the `contributes.configuration` entries in package.json exactly (`clawgym.diagnostics.enable`, …).
 */
export interface ServerSettings {
  diagnostics: {
    /** `clawgym.diagnostics.enable`: publish diagnostics at all. */
    enable: boolean;
    /** `clawgym.diagnostics.untouchedChecks`: warn on checks that pass on the untouched workspace. */
    untouchedChecks: boolean;
  };
}

export const DEFAULT_SETTINGS: ServerSettings = {
  diagnostics: { enable: true, untouchedChecks: true },
};

/**
 * Settings from whatever the client sent for the `clawgym` section: a nested object
 * (`{ diagnostics: { enable } }`) or dotted keys (`{ 'diagnostics.enable': … }`). Anything missing
 * or of the wrong type keeps its default.
 */
export function parseSettings(section: unknown): ServerSettings {
  const out: ServerSettings = { diagnostics: { ...DEFAULT_SETTINGS.diagnostics } };
  if (!section || typeof section !== 'object') return out;
  const s = section as Record<string, unknown>;
  const diag = s.diagnostics && typeof s.diagnostics === 'object' ? (s.diagnostics as Record<string, unknown>) : {};
  const pick = (nested: unknown, dotted: unknown, fallback: boolean): boolean =>
    typeof nested === 'boolean' ? nested : typeof dotted === 'boolean' ? dotted : fallback;
  out.diagnostics.enable = pick(diag.enable, s['diagnostics.enable'], out.diagnostics.enable);
  out.diagnostics.untouchedChecks = pick(diag.untouchedChecks, s['diagnostics.untouchedChecks'], out.diagnostics.untouchedChecks);
  return out;
}

export function sameSettings(a: ServerSettings, b: ServerSettings): boolean {
  return a.diagnostics.enable === b.diagnostics.enable && a.diagnostics.untouchedChecks === b.diagnostics.untouchedChecks;
}
