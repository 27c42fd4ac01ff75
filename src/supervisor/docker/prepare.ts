import type { DockerWorkerOptions } from '../../config/plan.js';
import type { SupervisorIo } from '../io.js';
import { progress } from '../progress.js';
import { checkEngine, DockerApi, dockerEndpoint, pullImage } from './engine-api.js';

/**
 * Before a Docker worker's queue starts anything: the engine must answer (a missing socket or a permission
 * problem is the error alone, with how to fix it), and with --pull (the default) image:tag is pulled, its
 * progress on stderr. A foreground run and a daemon's parent do this; the supervisor never pulls again.
 */
export async function prepareDocker(
  o: DockerWorkerOptions,
  io: Pick<SupervisorIo, 'env' | 'stderr'>,
  quiet = false,
): Promise<void> {
  const endpoint = dockerEndpoint(io.env);
  const docker = new DockerApi(endpoint);
  const version = await checkEngine(docker);
  if (!o.pull) return;
  const ref = `${o.image}:${o.tag}`;
  const p = progress(`Pulling ${ref} (${version} at ${endpoint.where})`, io.stderr);
  // layer milestones as plain lines where no spinner draws (a CI log shows the pull is moving)
  const plain = !io.stderr.isTTY && !quiet;
  try {
    await pullImage(docker, o.image, o.tag, (line) => plain && io.stderr.write(`  ${line}\n`));
  } catch (e) {
    p.fail(`Could not pull ${ref}`);
    throw e;
  }
  p.ok(`Pulled ${ref}`);
}
