import { defineCommand } from '../../command.js';

export interface DoctorOpts {
  queueId?: string;
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
  ],
  output: 'text or json',
  notes:
    'Checks: Node, Python 3.8+ with venv and pip (for the default worker), ~/.kubiya ownership and modes, the\n' +
    'config and the current context, the control plane (reachable; with --queue-id: the key and the queue), the\n' +
    'proxy config worker start would use (loads, serves models, their credentials are set), Redis and the\n' +
    'database when the config names them, and free local ports.\n' +
    'Exit 0 when nothing would stop `worker start` (warnings included), 1 otherwise.',
  examples: [
    'kubiya doctor',
    'kubiya doctor --queue-id prod',
    'kubiya doctor -o json | jq \'.checks[] | select(.status != "ok")\'',
  ],
  handler: async () => (await import('./checks.js')).doctor,
});
