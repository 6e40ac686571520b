// Helpers the generated codecs (src/protocol/generated/) call. They choose between the classic
// and the compact encoding of one value and check nullability; none of them looks at a schema at
// run time, so the generated code stays straight-line.

import { ProtocolDecodeError, type Reader } from './reader.js';
import { BrookError } from '../util/errors.js';
import type { Writer } from './writer.js';

/** Thrown when a message is encoded or decoded at a version its codec does not have. */
export class UnsupportedVersionError extends BrookError {
  declare readonly code: 'BROOK_PROTOCOL_UNSUPPORTED_VERSION';

  constructor(message: string) {
    super('BROOK_PROTOCOL_UNSUPPORTED_VERSION', message);
    this.name = 'UnsupportedVersionError';
  }
}

/** Thrown when a value cannot be encoded at the requested version (Kafka refuses these too). */
export class ProtocolEncodeError extends BrookError {
  declare readonly code: 'BROOK_PROTOCOL_ENCODE';

  constructor(message: string) {
    super('BROOK_PROTOCOL_ENCODE', message);
    this.name = 'ProtocolEncodeError';
  }
}

export function checkVersion(message: string, version: number, min: number, max: number): void {
  if (!(version >= min && version <= max)) {
    throw new UnsupportedVersionError(`${message} has versions ${min}-${max}, not ${version}`);
  }
}

export function nonDefaultError(field: string, version: number): ProtocolEncodeError {
  return new ProtocolEncodeError(
    `${field} has a non-default value but does not exist at version ${version}`,
  );
}

function nullError(field: string, version: number): ProtocolEncodeError {
  return new ProtocolEncodeError(`${field} is null but is not nullable at version ${version}`);
}

export const emptyBytes: Buffer = Buffer.alloc(0);

export function zeroUuid(): Buffer {
  return Buffer.alloc(16);
}

export function isZeroUuid(value: Buffer): boolean {
  for (let index = 0; index < value.length; index++) if (value[index] !== 0) return false;
  return true;
}

// Scalars whose encoding depends on flexibility (`compact`).

export function readString(reader: Reader, compact: boolean): string {
  return compact ? reader.readCompactString() : reader.readString();
}

export function readNullableString(reader: Reader, compact: boolean): string | null {
  return compact ? reader.readCompactNullableString() : reader.readNullableString();
}

export function readBytes(reader: Reader, compact: boolean): Buffer {
  return compact ? reader.readCompactBytes() : reader.readBytes();
}

export function readNullableBytes(reader: Reader, compact: boolean): Buffer | null {
  return compact ? reader.readCompactNullableBytes() : reader.readNullableBytes();
}

export function writeString(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  value: string | null,
  field: string,
  version: number,
): void {
  if (value === null) {
    if (!nullable) throw nullError(field, version);
    if (compact) writer.writeUnsignedVarint(0);
    else writer.writeInt16(-1);
  } else if (compact) writer.writeCompactString(value);
  else writer.writeString(value);
}

export function writeBytes(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  value: Buffer | null,
  field: string,
  version: number,
): void {
  if (value === null) {
    if (!nullable) throw nullError(field, version);
    if (compact) writer.writeUnsignedVarint(0);
    else writer.writeInt32(-1);
  } else if (compact) writer.writeCompactBytes(value);
  else writer.writeBytes(value);
}

export function writeRecords(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  value: Buffer | readonly Buffer[] | null,
  field: string,
  version: number,
): void {
  if (value === null && !nullable) throw nullError(field, version);
  writer.writeRecords(value, compact);
}

// Arrays. `elementBytesMin` lets the reader refuse a count the remaining bytes cannot hold.

export type ElementReader<T> = (reader: Reader) => T;
export type ElementWriter<T> = (writer: Writer, value: T) => void;
export type StructDecoder<T> = (reader: Reader, version: number) => T;
export type StructEncoder<T> = (writer: Writer, version: number, value: T) => void;

export function readArray<T>(
  reader: Reader,
  compact: boolean,
  readElement: ElementReader<T>,
  elementBytesMin: number,
): T[] {
  const count = compact
    ? reader.readCompactArrayCount(elementBytesMin)
    : reader.readArrayCount(elementBytesMin);
  const values = new Array<T>(count);
  for (let index = 0; index < count; index++) values[index] = readElement(reader);
  return values;
}

export function readNullableArray<T>(
  reader: Reader,
  compact: boolean,
  readElement: ElementReader<T>,
  elementBytesMin: number,
): T[] | null {
  const count = compact
    ? reader.readCompactNullableArrayCount(elementBytesMin)
    : reader.readNullableArrayCount(elementBytesMin);
  if (count === -1) return null;
  const values = new Array<T>(count);
  for (let index = 0; index < count; index++) values[index] = readElement(reader);
  return values;
}

export function readStructArray<T>(
  reader: Reader,
  compact: boolean,
  version: number,
  decodeElement: StructDecoder<T>,
): T[] {
  const count = compact ? reader.readCompactArrayCount(1) : reader.readArrayCount(1);
  const values = new Array<T>(count);
  for (let index = 0; index < count; index++) values[index] = decodeElement(reader, version);
  return values;
}

export function readNullableStructArray<T>(
  reader: Reader,
  compact: boolean,
  version: number,
  decodeElement: StructDecoder<T>,
): T[] | null {
  const count = compact
    ? reader.readCompactNullableArrayCount(1)
    : reader.readNullableArrayCount(1);
  if (count === -1) return null;
  const values = new Array<T>(count);
  for (let index = 0; index < count; index++) values[index] = decodeElement(reader, version);
  return values;
}

function writeArrayCount(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  values: readonly unknown[] | null,
  field: string,
  version: number,
): boolean {
  if (values === null) {
    if (!nullable) throw nullError(field, version);
    if (compact) writer.writeUnsignedVarint(0);
    else writer.writeInt32(-1);
    return false;
  }
  if (compact) writer.writeUnsignedVarint(values.length + 1);
  else writer.writeInt32(values.length);
  return true;
}

export function writeArray<T>(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  values: readonly T[] | null,
  writeElement: ElementWriter<T>,
  field: string,
  version: number,
): void {
  if (!writeArrayCount(writer, compact, nullable, values, field, version)) return;
  for (const value of values!) writeElement(writer, value);
}

export function writeStructArray<T>(
  writer: Writer,
  compact: boolean,
  nullable: boolean,
  version: number,
  values: readonly T[] | null,
  encodeElement: StructEncoder<T>,
  field: string,
): void {
  if (!writeArrayCount(writer, compact, nullable, values, field, version)) return;
  for (const value of values!) encodeElement(writer, version, value);
}

// Element readers and writers for arrays of primitives.

export const readInt8Element: ElementReader<number> = (reader) => reader.readInt8();
export const readInt16Element: ElementReader<number> = (reader) => reader.readInt16();
export const readUint16Element: ElementReader<number> = (reader) => reader.readUint16();
export const readInt32Element: ElementReader<number> = (reader) => reader.readInt32();
export const readUint32Element: ElementReader<number> = (reader) => reader.readUint32();
export const readInt64Element: ElementReader<bigint> = (reader) => reader.readInt64();
export const readFloat64Element: ElementReader<number> = (reader) => reader.readFloat64();
export const readBoolElement: ElementReader<boolean> = (reader) => reader.readBool();
export const readUuidElement: ElementReader<Buffer> = (reader) => reader.readUuid();
export const readStringElement: ElementReader<string> = (reader) => reader.readString();
export const readCompactStringElement: ElementReader<string> = (reader) =>
  reader.readCompactString();
export const readBytesElement: ElementReader<Buffer> = (reader) => reader.readBytes();
export const readCompactBytesElement: ElementReader<Buffer> = (reader) => reader.readCompactBytes();

export const writeInt8Element: ElementWriter<number> = (writer, value) => writer.writeInt8(value);
export const writeInt16Element: ElementWriter<number> = (writer, value) => writer.writeInt16(value);
export const writeUint16Element: ElementWriter<number> = (writer, value) =>
  writer.writeUint16(value);
export const writeInt32Element: ElementWriter<number> = (writer, value) => writer.writeInt32(value);
export const writeUint32Element: ElementWriter<number> = (writer, value) =>
  writer.writeUint32(value);
export const writeInt64Element: ElementWriter<bigint> = (writer, value) => writer.writeInt64(value);
export const writeFloat64Element: ElementWriter<number> = (writer, value) =>
  writer.writeFloat64(value);
export const writeBoolElement: ElementWriter<boolean> = (writer, value) => writer.writeBool(value);
export const writeUuidElement: ElementWriter<Buffer> = (writer, value) => writer.writeUuid(value);
export const writeStringElement: ElementWriter<string> = (writer, value) =>
  writer.writeString(value);
export const writeCompactStringElement: ElementWriter<string> = (writer, value) =>
  writer.writeCompactString(value);
export const writeBytesElement: ElementWriter<Buffer> = (writer, value) => writer.writeBytes(value);
export const writeCompactBytesElement: ElementWriter<Buffer> = (writer, value) =>
  writer.writeCompactBytes(value);

// Nullable structs (a non-array struct field with nullableVersions) carry an int8 marker:
// -1 for null, 1 when the struct follows.

export function readStructPresent(reader: Reader): boolean {
  const start = reader.offset;
  const marker = reader.readInt8();
  if (marker === -1) return false;
  if (marker === 1) return true;
  throw new ProtocolDecodeError(`nullable struct marker ${marker} is neither -1 nor 1`, start);
}

export function writeStructPresent(
  writer: Writer,
  nullable: boolean,
  value: unknown,
  field: string,
  version: number,
): boolean {
  if (value === null) {
    if (!nullable) throw nullError(field, version);
    writer.writeInt8(-1);
    return false;
  }
  if (nullable) writer.writeInt8(1);
  return true;
}

/** Byte length of a value written as `records`, for the caller that builds a response. */
export function recordsByteLength(value: Buffer | readonly Buffer[] | null): number {
  if (value === null) return 0;
  if (Buffer.isBuffer(value)) return value.length;
  let byteLength = 0;
  for (const buffer of value as readonly Buffer[]) byteLength += buffer.length;
  return byteLength;
}
