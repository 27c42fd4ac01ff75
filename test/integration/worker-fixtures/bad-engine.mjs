// An engine that rejects its config, as the real one does: message on stderr, exit 2.
process.stderr.write('config error: model_list[0].litellm_params.model: expected provider/model\n');
process.exit(2);
