# protoc-gen-cgrpc (filled in by the plugin work)
