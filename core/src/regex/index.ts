/**
 * Bounded-time regular expressions for everything the tool matches on the host (checks,
 * diagnostics, globs, the model server's `match`), and the static backtracking warning.
 */
export { compileBoundedRegex, MAX_REPEAT, testBounded, toRe2, type BoundedRegex, type CompiledRegex } from './bounded';
export { backtrackingRisk, type BacktrackingRisk } from './backtracking';
