import fc from "fast-check";

/** Every Unicode scalar value: 0 to 0x10FFFF without the surrogates (as many as there are below, shifted up). */
const SCALAR_VALUES = 0x10ffff + 1 - 0x800;

/**
 * Strings of any Unicode scalar values, as `fc.string({ unit: "binary" })` generates them: fast-check builds that
 * unit's table of 1.1 million characters the first time each test worker uses it (1.3 s), where mapping an
 * integer costs nothing.
 */
export function anyUnicode(constraints: { maxLength: number }) {
  return fc.string({
    unit: fc
      .integer({ min: 0, max: SCALAR_VALUES - 1 })
      .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800)),
    ...constraints,
  });
}
