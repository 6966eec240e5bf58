import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** One RESP command, as a client sends it. */
function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, '\\': 92 };

/** The arguments of a MONITOR line, each quoted as Redis quotes them (sdscatrepr: \" \\ \n \r \t \a \b \xHH). */
function monitoredArgs(text: string): string[] {
  const args: string[] = [];
  for (let i = text.indexOf('"'); i >= 0 && i < text.length; i = text.indexOf('"', i + 1)) {
    const bytes: number[] = [];
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] !== '\\') {
        bytes.push(...Buffer.from(text[i]!));
      } else if (text[i + 1] === 'x') {
        bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
        i += 3;
      } else {
        bytes.push(ESCAPES[text[i + 1]!] ?? text.charCodeAt(i + 1));
        i++;
      }
    }
    args.push(Buffer.from(bytes).toString('utf8'));
  }
  return args;
}

/**
 * MONITOR on a socket of its own, not ioredis' `monitor()`: ioredis marks its connection as monitoring a microtask
 * after MONITOR's OK, so a command line read in the same chunk as that OK finds no command waiting ("Command queue
 * state error", which failed a CI run), and the failed test left that connection reconnecting for ever to a server it
 * had stopped, keeping the file's process (and CI) running. Emits 'monitor' (time, args, source) as ioredis does.
 */
export class RedisMonitor extends EventEmitter {
  private constructor(private readonly socket: Socket) {
    super();
  }

  /** Monitoring `redis`'s server (its host, port and credentials) once this resolves. */
  static async start(redis: Redis): Promise<RedisMonitor> {
    const { host = '127.0.0.1', port = 6379, username, password } = redis.options;
    const socket = connect(port, host);
    const monitor = new RedisMonitor(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      let oks = password ? 2 : 1;
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString('latin1')).split('\r\n');
        pending = lines.pop()!;
        for (const latin1 of lines) {
          const line = Buffer.from(latin1, 'latin1').toString('utf8');
          if (oks > 0) {
            if (line !== '+OK') return void (socket.destroy(), reject(new Error(`MONITOR refused: ${line}`)));
            if (--oks === 0) resolve();
            continue;
          }
          const parsed = /^\+(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$/.exec(line);
          if (parsed) monitor.emit('monitor', parsed[1], monitoredArgs(parsed[3]!), parsed[2]);
        }
      });
      socket.once('close', () => reject(new Error('the MONITOR connection closed before monitoring')));
      if (password) socket.write(username ? command('AUTH', username, password) : command('AUTH', password));
      socket.write(command('MONITOR'));
    });
    return monitor;
  }

  disconnect(): void {
    this.socket.destroy();
  }
}
