// Buffered sequential file writer tracking the write position (used by the index writer).

import fs from 'node:fs';

export class FileWriter {
  private fd: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private bufLen = 0;
  /** Bytes written so far (including buffered). */
  pos = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w', 0o644);
  }

  write(b: Uint8Array): void {
    if (this.bufLen + b.length > this.buf.length) {
      this.flush();
      if (b.length > this.buf.length) {
        this.writeFully(b);
        this.pos += b.length;
        return;
      }
    }
    this.buf.set(b, this.bufLen);
    this.bufLen += b.length;
    this.pos += b.length;
  }

  /** Writes zero bytes until pos is a multiple of `align`. */
  pad(align: number): void {
    const n = (align - (this.pos % align)) % align;
    if (n > 0) this.write(new Uint8Array(n));
  }

  private writeFully(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
  }

  flush(): void {
    if (this.bufLen > 0) this.writeFully(this.buf.subarray(0, this.bufLen));
    this.bufLen = 0;
  }

  /** Flushes, optionally fsyncs, closes. */
  close(fsync = true): void {
    if (this.fd < 0) return;
    this.flush();
    if (fsync) fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes without flushing (error path). */
  abort(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
