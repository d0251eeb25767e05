// quantctl model admin: load-model, unload-model, models, model-info, quantize-model, server-info.
#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/quantctl/commands.h"
#include "quantd/v1/quantd.grpc.pb.h"

namespace quantd::client {
namespace {

int usage_error(const char* message) {
  std::fprintf(stderr, "quantctl: %s\n", message);
  return 2;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void print_summaries(const google::protobuf::RepeatedPtrField<v1::ModelSummary>& models) {
  std::printf("%-24s %-10s %12s %10s %12s %12s  %s\n", "NAME", "ARCH", "PARAMS", "TENSORS", "MAPPED_MIB",
              "OWNED_MIB", "PATH");
  for (const v1::ModelSummary& m : models) {
    std::printf("%-24s %-10s %12" PRId64 " %10d %12.2f %12.2f  %s\n", m.name().c_str(), m.architecture().c_str(),
                m.parameters(), m.tensor_count(), mib(m.bytes_mapped()), mib(m.bytes_allocated()), m.path().c_str());
  }
}

}  // namespace

int cmd_load_model(const Args& args) {
  if (args.positional().size() != 3) return usage_error("usage: quantctl load-model NAME PATH [--type=q8_0]");
  v1::LoadModelRequest r;
  r.set_name(args.positional()[1]);
  r.set_path(args.positional()[2]);
  r.set_target_type(args.get("type"));
  v1::LoadModelResponse reply;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->LoadModel(&ctx, r, &reply);
  if (!s.ok()) return report("load-model", s);
  google::protobuf::RepeatedPtrField<v1::ModelSummary> one;
  *one.Add() = reply.model();
  print_summaries(one);
  std::printf("loaded in %.1f ms\n", reply.load_micros() / 1000.0);
  return 0;
}

int cmd_unload_model(const Args& args) {
  if (args.positional().size() != 2) return usage_error("usage: quantctl unload-model NAME");
  v1::UnloadModelRequest r;
  r.set_name(args.positional()[1]);
  v1::UnloadModelResponse reply;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->UnloadModel(&ctx, r, &reply);
  if (!s.ok()) return report("unload-model", s);
  std::printf("unloaded %s\n", r.name().c_str());
  return 0;
}

int cmd_models(const Args& args) {
  v1::ListModelsResponse reply;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->ListModels(&ctx, {}, &reply);
  if (!s.ok()) return report("models", s);
  print_summaries(reply.models());
  return 0;
}

int cmd_model_info(const Args& args) {
  if (args.positional().size() != 2) return usage_error("usage: quantctl model-info NAME");
  v1::GetModelInfoRequest r;
  r.set_name(args.positional()[1]);
  v1::ModelInfo i;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->GetModelInfo(&ctx, r, &i);
  if (!s.ok()) return report("model-info", s);
  google::protobuf::RepeatedPtrField<v1::ModelSummary> one;
  *one.Add() = i.summary();
  print_summaries(one);
  const v1::LlamaHyperParameters& h = i.hyper_parameters();
  std::printf("\nvocab %" PRId64 ", context %" PRId64 ", dim %" PRId64 ", layers %" PRId64 ", heads %" PRId64
              "/%" PRId64 " kv, ffn %" PRId64 ", rope dims %" PRId64 " base %g, rms eps %g\n\n",
              h.vocab_size(), h.context_length(), h.embedding_length(), h.block_count(), h.head_count(),
              h.head_count_kv(), h.feed_forward_length(), h.rope_dimension_count(), h.rope_freq_base(),
              h.rms_norm_epsilon());
  std::printf("%-32s %-16s %-6s %12s %s\n", "TENSOR", "SHAPE", "TYPE", "BYTES", "MAPPED");
  for (const v1::ModelTensorInfo& t : i.tensors()) {
    std::printf("%-32s %-16s %-6s %12" PRIu64 " %s\n", t.name().c_str(), absl::StrJoin(t.shape(), "x").c_str(),
                t.type().c_str(), t.bytes(), t.mapped() ? "yes" : "no");
  }
  return 0;
}

int cmd_quantize_model(const Args& args) {
  if (args.positional().size() != 3) {
    return usage_error("usage: quantctl quantize-model SOURCE OUTPUT_NAME --type=q4_0 [--keep=a,b*] "
                       "[--fallback=f16] [--out=FILE.gguf]");
  }
  v1::QuantizeModelRequest r;
  r.set_source(args.positional()[1]);
  r.set_output_name(args.positional()[2]);
  r.set_target_type(args.get("type"));
  for (absl::string_view k : absl::StrSplit(args.get("keep"), ',', absl::SkipEmpty())) r.add_keep(std::string(k));
  r.set_fallback_type(args.get("fallback"));
  r.set_output_path(args.get("out"));
  v1::QuantizeModelResponse reply;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->QuantizeModel(&ctx, r, &reply);
  if (!s.ok()) return report("quantize-model", s);
  std::printf("%-28s %-6s %-6s %10s %10s %12s %12s %9s %9s  %s\n", "TENSOR", "BEFORE", "AFTER", "BYTES_IN",
              "BYTES_OUT", "MSE", "MAX_ERR", "SNR_DB", "COSINE", "NOTE");
  for (const v1::TensorQuantizationReport& t : reply.tensors()) {
    if (t.has_error()) {
      std::printf("%-28s %-6s %-6s %10" PRIu64 " %10" PRIu64 " %12.4g %12.4g %9.2f %9.6f  %s\n", t.name().c_str(),
                  t.type_before().c_str(), t.type_after().c_str(), t.bytes_before(), t.bytes_after(), t.error().mse(),
                  t.error().max_abs_error(), t.error().snr_db(), t.error().cosine_similarity(), t.note().c_str());
    } else {
      std::printf("%-28s %-6s %-6s %10" PRIu64 " %10" PRIu64 " %12s %12s %9s %9s  %s\n", t.name().c_str(),
                  t.type_before().c_str(), t.type_after().c_str(), t.bytes_before(), t.bytes_after(), "-", "-", "-",
                  "-", t.note().c_str());
    }
  }
  std::printf("\ntotal: %.3f MiB -> %.3f MiB (%.2fx)%s%s\n", mib(reply.bytes_before()), mib(reply.bytes_after()),
              reply.bytes_after() ? static_cast<double>(reply.bytes_before()) / reply.bytes_after() : 0.0,
              reply.written_path().empty() ? "" : ", written to ", reply.written_path().c_str());
  return 0;
}

int cmd_server_info(const Args& args) {
  v1::ServerInfo i;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Quantd::NewStub(connect(args))->GetServerInfo(&ctx, {}, &i);
  if (!s.ok()) return report("server-info", s);
  std::printf("version        %s\narchitecture   %s\nisa            %s (available: %s)\nthreads        %d\n",
              i.version().c_str(), i.architecture().c_str(), i.isa().c_str(),
              absl::StrJoin(i.available_isas(), ", ").c_str(), i.threads());
  if (i.max_concurrent_generations() > 0) std::printf("generations    %d at once\n", i.max_concurrent_generations());
  std::printf("\n");
  print_summaries(i.models());
  return 0;
}

}  // namespace quantd::client
