// Character classes shared by the text and OpenMetrics lexers (golex definitions in
// Prometheus' promlex.l and openmetricslex.l).

export const NL = 10;
export const SP = 32;

/** {M} = [a-zA-Z_:] */
export function isM(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
/** {M}|{D} */
export function isMD(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 58);
}
/** {L} = [a-zA-Z_] */
export function isL(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
/** {L}|{D} */
export function isLD(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}
