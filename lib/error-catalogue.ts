/**
 * The error catalogue, collected from the classes errors.ts declares: nothing here names a
 * code.
 *
 * An error class is an export of errors.ts that extends BgwError and declares its own
 * static `code` and `meaning`. CATALOGUE maps each code to its meaning (the README's error
 * table mirrors it); errorClassFor maps a code back to its class, for rebuilding errors
 * that crossed a thread (protocol/wire-error.ts). BgwErrorCode, the union of the codes,
 * is derived the same way, so a class is the only place a code is written.
 *
 * This module imports errors.ts, never the other way round at run time (errors.ts takes
 * only the BgwErrorCode type from here), so the classes exist before they are collected.
 */
import * as errors from './errors.js';

type Exported = (typeof errors)[keyof typeof errors];

/** Every error class: the exports that declare a code and its meaning. */
export type BgwErrorClass = Extract<Exported, { readonly code: string; readonly meaning: string }>;

/** Every code an error of this package can carry. */
export type BgwErrorCode = BgwErrorClass['code'];

/** The class that declares `C`. */
export type BgwErrorClassOf<C extends BgwErrorCode> = Extract<BgwErrorClass, { readonly code: C }>;

function isErrorClass(v: unknown): v is BgwErrorClass {
  return typeof v === 'function' && Object.prototype.isPrototypeOf.call(errors.BgwError, v)
    && Object.hasOwn(v, 'code') && Object.hasOwn(v, 'meaning');
}

const classes = new Map<string, BgwErrorClass>(
  Object.values(errors).filter(isErrorClass).map((cls) => [cls.code, cls]),
);

/** Every code with the situation it names; the README table mirrors this. */
export const CATALOGUE: { readonly [C in BgwErrorCode]: string } = Object.freeze(
  Object.fromEntries([...classes].map(([code, cls]) => [code, cls.meaning])) as { [C in BgwErrorCode]: string },
);

/** The class for a code, for rebuilding errors that crossed a thread. */
export function errorClassFor<C extends BgwErrorCode>(code: C): BgwErrorClassOf<C>;
export function errorClassFor(code: string): BgwErrorClass | undefined;
export function errorClassFor(code: string): BgwErrorClass | undefined {
  return classes.get(code);
}
