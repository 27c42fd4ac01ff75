import { BUILD } from '../../version.js';
import { defineCommand } from '../command.js';

/** `kubiya version`: what was built, from which commit and when, and what it runs on (for bug reports). */
export const versionCommand = defineCommand({
  name: 'version',
  description: 'Print the version, commit, build date, Node version and platform',
  output: 'text or json',
  examples: ['kubiya version', 'kubiya version -o json', 'kubiya --version   # the version alone'],
  handler: async () => (ctx) => {
    const info = {
      version: BUILD.version,
      commit: BUILD.commit,
      build_date: BUILD.date,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    };
    if (ctx.output === 'json') ctx.out.json(info);
    else
      ctx.out.line(
        `kubiya ${info.version}\ncommit:     ${info.commit}\nbuilt:      ${info.build_date}\n` +
          `node:       ${info.node}\nplatform:   ${info.platform}`,
      );
    return 0;
  },
});
