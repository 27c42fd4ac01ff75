import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demultiplex, dockerEndpoint, isHostAddress } from '../../src/supervisor/docker/engine-api.js';
import { frame } from '../fakes/docker-engine.js';

describe('DOCKER_HOST', () => {
  it('defaults to the engine socket and takes unix:// and tcp:// forms as the docker CLI does', () => {
    expect(dockerEndpoint({})).toEqual({ where: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' });
    expect(dockerEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).socketPath).toBe(
      '/run/user/1000/docker.sock',
    );
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).toEqual({
      where: 'tcp://10.0.0.5:2375',
      tcp: { host: '10.0.0.5', port: 2375 },
    });
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://docker-host' }).tcp).toEqual({ host: 'docker-host', port: 2375 });
  });

  it('refuses forms it cannot use, naming the ones it takes', () => {
    expect(() => dockerEndpoint({ DOCKER_HOST: 'ssh://me@host' })).toThrow(/ssh:\/\/me@host is not supported/);
    expect(() => dockerEndpoint({ DOCKER_HOST: 'unix://relative.sock' })).toThrow(/must be absolute/);
    expect(() =>
      dockerEndpoint({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nope' }),
    ).toThrow(/DOCKER_TLS_VERIFY is set but \/nope\/ca\.pem cannot be read/);
  });

  it("knows this machine's addresses (where the proxy may listen for a container)", () => {
    expect(isHostAddress('127.0.0.1')).toBe(true);
    expect(isHostAddress('127.0.0.2')).toBe(true); // the loopback interface's whole 127.0.0.0/8
    expect(isHostAddress('192.0.2.1')).toBe(false); // TEST-NET-1: nobody's
  });

  it('splits the multiplexed stream into stdout and stderr, however chunked; a TTY stream passes as is', async () => {
    const collect = (s: PassThrough) => {
      let t = '';
      s.on('data', (d) => (t += d));
      return new Promise<string>((r) => s.on('end', () => r(t)));
    };
    const src = new PassThrough();
    const out = new PassThrough();
    const err = new PassThrough();
    const [o, e] = [collect(out), collect(err)];
    demultiplex(src, out, err);
    const bytes = Buffer.concat([
      frame(1, Buffer.from('one\n')),
      frame(2, Buffer.from('oops\n')),
      frame(1, Buffer.from('two\n')),
    ]);
    for (let i = 0; i < bytes.length; i += 3) src.write(bytes.subarray(i, i + 3)); // headers split too
    src.end();
    expect(await o).toBe('one\ntwo\n');
    expect(await e).toBe('oops\n');
    const tty = new PassThrough();
    const tout = new PassThrough();
    const terr = new PassThrough();
    const t = collect(tout);
    demultiplex(tty, tout, terr);
    tty.end('plain terminal output\n');
    expect(await t).toBe('plain terminal output\n');
  });
});
