// What the event loop and the network thread (num.io.threads ≥ 2) tell each other over the
// worker's port. Connections are named by an id the network thread gives at accept. Bytes move
// as ArrayBuffers transferred with the message, never cloned.

import type { TlsOptions } from 'node:tls';

/** A TLS client as the handshake left it: what the principal mapping needs (tls-context.ts). */
export interface PeerCertificate {
  /** The client's certificate (DER), or null when it sent none. */
  readonly raw: ArrayBuffer | null;
  readonly authorized: boolean;
  readonly authorizationError: string | null;
}

/** The event loop to the network thread. */
export type ToNetworkThread =
  /** Listen on host:port; frames above `frameBytesMax` close a connection until told otherwise. */
  | {
      readonly t: 'listen';
      readonly listener: number;
      readonly host: string;
      readonly port: number;
      readonly frameBytesMax: number;
      /** A TLS listener's options (tls-context.ts), or null for plaintext. */
      readonly tls: TlsOptions | null;
      readonly handshakeTimeoutMs: number;
      /** Bind with SO_REUSEPORT: other network threads listen on the same port (Node ≥ 22.12). */
      readonly reusePort: boolean;
    }
  /** A TLS listener's certificates were reloaded: new connections use these options. */
  | { readonly t: 'tlsOptions'; readonly listener: number; readonly options: TlsOptions }
  /** Start reading an accepted connection (the event loop admitted it), or refuse it. */
  | { readonly t: 'start'; readonly id: number }
  /** Response bytes, in order. */
  | { readonly t: 'write'; readonly id: number; readonly data: ArrayBuffer }
  | { readonly t: 'pause'; readonly id: number }
  | { readonly t: 'resume'; readonly id: number }
  | { readonly t: 'limit'; readonly id: number; readonly frameBytesMax: number }
  /** Close once the bytes written so far are out (a graceful close). */
  | { readonly t: 'end'; readonly id: number }
  | { readonly t: 'destroy'; readonly id: number }
  /** Stop accepting; answered by 'unlistened'. */
  | { readonly t: 'unlisten' };

/** The network thread to the event loop. */
export type FromNetworkThread =
  | { readonly t: 'listening'; readonly listener: number; readonly port: number }
  | { readonly t: 'listenFailed'; readonly listener: number; readonly message: string }
  | {
      readonly t: 'accepted';
      readonly id: number;
      readonly listener: number;
      readonly remoteAddress: string;
      readonly remotePort: number;
      /** A TLS listener's client; null on plaintext. */
      readonly peer: PeerCertificate | null;
    }
  /** A TLS handshake failed (the socket is gone): for the log and the audit log. */
  | {
      readonly t: 'tlsFailed';
      readonly listener: number;
      readonly clientAddress: string;
      readonly reason: string;
    }
  /**
   * The frames one socket read completed, in order: an ArrayBuffer is a whole frame of its own; a
   * number n is the next n bytes of `packed` (small frames share one buffer).
   */
  | {
      readonly t: 'frames';
      readonly id: number;
      readonly items: ReadonlyArray<ArrayBuffer | number>;
      readonly packed: ArrayBuffer | null;
      /** Bytes of a further frame are held after these (the loop times a half-sent frame). */
      readonly partial: boolean;
    }
  /** A read began a frame and completed none: told once, when no partial frame was held before. */
  | { readonly t: 'partial'; readonly id: number }
  /** A frame length outside the limit: the stream cannot go on. */
  | { readonly t: 'badFrame'; readonly id: number; readonly message: string }
  /** The socket's unsent bytes (its writableLength), told when they grow and when they drain. */
  | { readonly t: 'queued'; readonly id: number; readonly bytes: number }
  | {
      readonly t: 'error';
      readonly id: number;
      readonly code: string | undefined;
      readonly message: string;
    }
  | { readonly t: 'closed'; readonly id: number }
  | { readonly t: 'unlistened' };
