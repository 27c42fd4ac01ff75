/**
 * The worker's container (`worker start --type docker`): created, attached and started as `docker run` does,
 * its multiplexed output demultiplexed into the queue's worker.log, its exit code from the wait endpoint; and
 * the look-ups `worker stop` and `worker status` make by the queue's labels.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { UserError } from '../../errors.js';
import { type ChildExit, type OutputSink, pipeOutput } from '../child.js';
import type { WorkerRun } from '../worker-run.js';
import { DockerApi, demultiplex, dockerEndpoint, dockerError, EngineApiError } from './engine-api.js';

/** Labels on every worker container: which queue, and whose queue directory (one machine, several users). */
export const QUEUE_LABEL = 'kubiya.queue-id';
export const DIR_LABEL = 'kubiya.worker-dir';
export const SUPERVISOR_LABEL = 'kubiya.supervisor-pid';

/** The name the container given to the proxy's address inside the container. */
export const HOST_ALIAS = 'host.docker.internal';

/** What `worker.pid` records of the container (no secrets: its environment stays with the engine). */
export interface ContainerRecord {
  id: string;
  name: string;
  /** image:tag */
  image: string;
  /** the DOCKER_HOST it runs on, so `stop` and `status` ask the same engine */
  docker_host: string;
}

/** One queue's container name: the queue and a short hash of its directory (two users' queue "q1" differ). */
export function containerName(queueId: string, workerDir: string): string {
  return `kubiya-worker-${queueId}-${createHash('sha256').update(workerDir).digest('hex').slice(0, 8)}`;
}

export interface ContainerSpec {
  queueId: string;
  workerDir: string;
  /** image:tag */
  image: string;
  /** the command; undefined: the image's own */
  cmd?: string[];
  env: NodeJS.ProcessEnv;
  /** where HOST_ALIAS points: the bridge gateway the proxy engine listens on */
  hostAddress: string;
}

/** `p`, or undefined after `ms`; the timer goes with the answer (a grace of 30 s must not hold the process). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const status = (e: unknown) => (e instanceof EngineApiError ? e.statusCode : undefined);
const at = (id: string) => `/containers/${encodeURIComponent(id)}`;

/**
 * Remove the containers a previous run of this queue left (a supervisor that was SIGKILLed cannot remove its
 * own); returns their short ids. Called while the queue is ours (worker.pid claimed), so none is in use.
 */
export async function removeQueueContainers(docker: DockerApi, queueId: string, workerDir: string): Promise<string[]> {
  try {
    const found = await docker.call<{ Id: string }[]>(
      'GET',
      '/containers/json',
      { all: 1, filters: JSON.stringify({ label: [`${QUEUE_LABEL}=${queueId}`, `${DIR_LABEL}=${workerDir}`] }) },
      [200],
    );
    for (const c of found) await removeContainer(docker, c.Id);
    return found.map((c) => c.Id.slice(0, 12));
  } catch (e) {
    throw dockerError(e, docker.endpoint, `look for containers of queue ${queueId}`);
  }
}

/** DELETE /containers/{id}?force=1 (a running one is killed first); one already gone is fine. */
async function removeContainer(docker: DockerApi, id: string): Promise<void> {
  try {
    await docker.remove(id);
  } catch (e) {
    if (status(e) !== 404) throw e;
  }
}

/** POST /containers/{id}/kill with `signal`; one that is not running (409) or gone (404) is fine. */
async function signalContainer(docker: DockerApi, id: string, signal: string): Promise<void> {
  try {
    await docker.kill(id, signal);
  } catch (e) {
    if (status(e) !== 404 && status(e) !== 409) throw e;
  }
}

/**
 * Create, attach (before the start, so no line is lost) and start the worker's container; the run's `exited`
 * resolves with the wait endpoint's StatusCode once the output stream ended, and the container is removed then.
 */
export async function startContainer(docker: DockerApi, spec: ContainerSpec, sink: OutputSink): Promise<WorkerRun> {
  const name = containerName(spec.queueId, spec.workerDir);
  let id: string;
  try {
    const created = await docker.call<{ Id: string }>('POST', '/containers/create', { name }, [201], {
      Image: spec.image,
      ...(spec.cmd?.length ? { Cmd: spec.cmd } : {}),
      Env: Object.entries(spec.env)
        .filter((kv): kv is [string, string] => kv[1] !== undefined)
        .map(([k, v]) => `${k}=${v}`),
      Labels: {
        [QUEUE_LABEL]: spec.queueId,
        [DIR_LABEL]: spec.workerDir,
        [SUPERVISOR_LABEL]: String(process.pid),
      },
      Tty: false,
      OpenStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        // the proxy's address by name, mapped to exactly where the engine listens
        ExtraHosts: [`${HOST_ALIAS}:${spec.hostAddress}`],
        NetworkMode: 'bridge',
        // an init as PID 1: the worker gets SIGTERM and its zombies are reaped
        Init: true,
      },
    });
    id = created.Id;
  } catch (e) {
    const err = dockerError(e, docker.endpoint, `create the worker's container from ${spec.image}`);
    if (status(e) === 404)
      throw new UserError(err.message, {
        exitCode: 1,
        hint: `Pull it (run without --no-pull), or check --image and --image-tag`,
      });
    throw err;
  }
  let drained: Promise<void> = Promise.resolve();
  let wait: Promise<{ StatusCode?: number }>;
  try {
    // attached before the start, as `docker run` does: no line is lost
    const stream = await docker.stream('POST', `${at(id)}/attach`, { stream: 1, stdout: 1, stderr: 1 }, [200, 101]);
    const out = new PassThrough();
    const err = new PassThrough();
    pipeOutput(out, sink.echo?.stdout, sink);
    pipeOutput(err, sink.echo?.stderr, sink);
    drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', resolve);
    });
    demultiplex(stream, out, err);
    await docker.call('POST', `${at(id)}/start`, {}, [204, 304]);
    wait = docker.call('POST', `${at(id)}/wait`, {}, [200]);
    // the wait's answer is read after an exit; a wait that fails now is reported there
    wait.catch(() => undefined);
  } catch (e) {
    await removeContainer(docker, id).catch(() => undefined);
    throw dockerError(e, docker.endpoint, `start the worker's container ${name}`);
  }
  const exited = (async (): Promise<ChildExit> => {
    let exit: ChildExit;
    try {
      const r = await wait;
      exit = { code: typeof r.StatusCode === 'number' ? r.StatusCode : 125, signal: null };
    } catch (e) {
      sink.log.write(`kubiya: lost the Docker engine while waiting for container ${id.slice(0, 12)}: ${e}\n`);
      exit = { code: 125, signal: null }; // docker run's code for the engine's own failures
    }
    await within(drained, 2000);
    await removeContainer(docker, id).catch((e) =>
      sink.log.write(`kubiya: could not remove container ${id.slice(0, 12)}: ${(e as Error).message}\n`),
    );
    return exit;
  })();
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    container: { id, name },
    exited,
    stop: async (graceMs) => {
      if (gone) return;
      await signalContainer(docker, id, 'SIGTERM').catch(() => undefined);
      if (await within(exited, graceMs)) return;
      await signalContainer(docker, id, 'SIGKILL').catch(() => undefined);
      await within(exited, 5000);
      if (!gone) await removeContainer(docker, id).catch(() => undefined);
    },
    kill: () => void signalContainer(docker, id, 'SIGKILL').catch(() => undefined),
    leftovers: () => (gone ? [] : [`container ${id.slice(0, 12)}`]),
  };
}

/** A recorded container's state as `worker status` shows it: running, exited, ..., gone, or why unknown. */
export async function containerState(rec: ContainerRecord, timeoutMs = 1500): Promise<string> {
  const endpoint = dockerEndpoint({ DOCKER_HOST: rec.docker_host });
  try {
    const info = await new DockerApi(endpoint, timeoutMs).inspect(rec.id);
    return info.State?.Status ?? 'unknown';
  } catch (e) {
    if (status(e) === 404) return 'gone';
    return `unknown (${dockerError(e, endpoint, 'inspect it').message.replace(/^cannot inspect it: /, '')})`;
  }
}

/**
 * `worker stop`'s last step for a Docker queue: kill and remove the recorded container, and any other this
 * queue left (found by its labels). Returns what went, or why it could not.
 */
export async function removeRecordedContainer(
  rec: ContainerRecord,
  queueId: string,
  workerDir: string,
): Promise<string[]> {
  const endpoint = dockerEndpoint({ DOCKER_HOST: rec.docker_host });
  try {
    const docker = new DockerApi(endpoint, 10_000);
    const existed = await docker.inspect(rec.id).then(
      () => true,
      (e) => (status(e) === 404 ? false : Promise.reject(e)),
    );
    if (existed) {
      await signalContainer(docker, rec.id, 'SIGKILL');
      await removeContainer(docker, rec.id);
    }
    const others = (await removeQueueContainers(docker, queueId, workerDir)).filter((s) => !rec.id.startsWith(s));
    return [...(existed ? [`container ${rec.id.slice(0, 12)}`] : []), ...others.map((s) => `container ${s}`)];
  } catch (e) {
    return [`container ${rec.id.slice(0, 12)} NOT removed (${dockerError(e, endpoint, 'remove it').message})`];
  }
}
