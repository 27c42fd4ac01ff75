import { defineCommand } from '../../command.js';

export interface DoctorOpts {
  queueId?: string;
  type?: 'local' | 'docker';
}

/** `kubiya doctor`: what on this machine would stop `worker start`, each with a fix. */
export const doctorCommand = defineCommand<DoctorOpts>({
  name: 'doctor',
  description: 'Check this machine for `worker start`: Node, Python and pip, ~/.kubiya, context, control plane, proxy',
  options: [
    {
      flags: '--queue-id <id>',
      description: 'also check the queue: the control plane knows it and accepts the key; it is not running',
    },
    {
      flags: '--type <type>',
      description:
        'the worker type to check for: local (Python for the default worker) or docker (the Docker engine at ' +
        'DOCKER_HOST answers, and its bridge gateway is an address of this machine)',
      choices: ['local', 'docker'],
      default: 'local',
    },
  ],
  output: 'text or json',
  notes:
    'Checks: Node, Python 3.8+ with venv and pip (for the default worker; with --type docker instead: the\n' +
    "Docker engine at DOCKER_HOST answers and its bridge gateway is this machine's), ~/.kubiya ownership and\n" +
    'modes, the config and the current context, the control plane (reachable; with --queue-id: the key and the\n' +
    'queue), the proxy config worker start would use (loads, serves models, their credentials are set), Redis\n' +
    'and the database when the config names them, and free local ports.\n' +
    'Exit 0 when nothing would stop `worker start` (warnings included), 1 otherwise.',
  examples: [
    'kubiya doctor',
    'kubiya doctor --queue-id prod',
    'kubiya doctor --type docker',
    'kubiya doctor -o json | jq \'.checks[] | select(.status != "ok")\'',
  ],
  handler: async () => (await import('./checks.js')).doctor,
});
