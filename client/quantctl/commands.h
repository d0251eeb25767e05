// quantctl's subcommands. Each returns the process exit code and prints its own errors.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "client/quantctl/args.h"

namespace quantd::client {

// A channel to --server (default 127.0.0.1:50051) that allows large messages both ways.
std::shared_ptr<grpc::Channel> connect(const Args& args);
// Prints "quantctl: <what>: <code>: <message>" and returns 1.
int report(const std::string& what, const grpc::Status& status);

int cmd_health(const Args& args);
int cmd_quantize(const Args& args);
int cmd_dequantize(const Args& args);
int cmd_load_model(const Args& args);
int cmd_unload_model(const Args& args);
int cmd_models(const Args& args);
int cmd_model_info(const Args& args);
int cmd_quantize_model(const Args& args);
int cmd_server_info(const Args& args);
int cmd_generate(const Args& args);

struct Command {
  const char* name;
  const char* synopsis;  // the positionals, e.g. "IN [-o OUT.qt]"
  const char* summary;
  std::vector<FlagSpec> flags;
  int (*run)(const Args&);
};

// Every command, in the order --help lists them (commands.cc), and the flags all of them take.
const std::vector<Command>& commands();
const std::vector<FlagSpec>& global_flags();

}  // namespace quantd::client
