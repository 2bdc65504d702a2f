// Mocked IPC for unit tests: a handler per command, every call recorded, and a way to
// push Progress messages into a command's channel.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { Progress } from '../lib/bindings';

export type Handler = (args: Record<string, unknown>) => unknown;

export interface Mock {
  calls: { cmd: string; args: Record<string, unknown> }[];
  argsOf(cmd: string): Record<string, unknown>[];
  /** Sends messages to the channel a command was given as `onProgress`. */
  progress(cmd: string, messages: Progress[]): void;
}

export function mockBackend(handlers: Record<string, Handler>): Mock {
  const calls: Mock['calls'] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const h = handlers[cmd];
    if (!h) throw new Error(`unexpected command ${cmd}`);
    return h(args);
  });
  return {
    calls,
    argsOf: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    progress(cmd, messages) {
      const call = [...calls].reverse().find((c) => c.cmd === cmd);
      const ch = call?.args.onProgress as { id: number } | undefined;
      if (!ch) throw new Error(`${cmd} was not called with a channel`);
      const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, d: unknown): void } }).__TAURI_INTERNALS__;
      messages.forEach((message, index) => internals.runCallback(ch.id, { index, message }));
    },
  };
}

/** Makes a handler fail the way a Rust command's Err does. */
export function fail(kind: string, message: string): never {
  throw { kind, message };
}

export function reset(): void {
  clearMocks();
}

/** Lets pending promises run. */
export const tick = () => new Promise((r) => setTimeout(r, 0));
