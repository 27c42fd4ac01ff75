import { describe, expect, it } from 'vitest';
import { dockerEndpoint, isHostAddress } from '../../src/supervisor/docker/engine-api.js';

describe('DOCKER_HOST', () => {
  it('defaults to the engine socket and takes unix:// and tcp:// forms as the docker CLI does', () => {
    expect(dockerEndpoint({})).toMatchObject({
      where: 'unix:///var/run/docker.sock',
      options: { socketPath: '/var/run/docker.sock' },
    });
    expect(dockerEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).socketPath).toBe(
      '/run/user/1000/docker.sock',
    );
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).toMatchObject({
      where: 'tcp://10.0.0.5:2375',
      options: { host: '10.0.0.5', port: 2375, protocol: 'http' },
    });
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://docker-host' }).options).toMatchObject({ port: 2375 });
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
});
