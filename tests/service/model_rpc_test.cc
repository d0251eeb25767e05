// Model admin over a real socket: load the real stories260K files, inspect, re-quantize with
// a per-tensor report, write and reload, unload; paths confined to the model directory; bad
// files and names get clear statuses and leave other models untouched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/service/test_server.h"

namespace quantd {
namespace {

namespace fs = std::filesystem;

std::string shared_models() {
  const char* dir = std::getenv("QUANTD_MODELS_DIR");
  return dir != nullptr ? dir : "../shared/models";
}

// A scratch model directory: links to the shared models, a truncated copy, a symlink escaping
// the directory, and an outside file the symlink points to.
class ModelDir {
 public:
  ModelDir() {
    char tmpl[] = "/tmp/quantd-models-XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ + "/models";
    fs::create_directories(dir_ + "/sub");
    for (const char* f : {"stories260K.gguf", "stories260K-llamacpp-q8_0-fallback.gguf",
                          "stories260K-llamacpp-q4_0-fallback.gguf"}) {
      fs::copy_file(shared_models() + "/" + f, dir_ + "/" + f);
    }
    fs::copy_file(shared_models() + "/stories260K.gguf", dir_ + "/sub/copy.gguf");
    std::ifstream in(shared_models() + "/stories260K.gguf", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir_ + "/truncated.gguf", std::ios::binary).write(bytes.data(), 20000);
    std::ofstream(root_ + "/outside.gguf", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    fs::create_symlink(root_ + "/outside.gguf", dir_ + "/escape.gguf");
  }
  ~ModelDir() { fs::remove_all(root_); }
  const std::string& dir() const { return dir_; }

 private:
  std::string root_, dir_;
};

class ModelRpc : public ::testing::Test {
 protected:
  ModelRpc() : server_(options()), stub_(server_.stub()) {}
  engine::EngineOptions options() {
    engine::EngineOptions o = testing::TestServer::default_options();
    o.model_dir = dir_.dir();
    return o;
  }
  grpc::Status load(const std::string& name, const std::string& path, const std::string& type = "",
                    v1::LoadModelResponse* out = nullptr) {
    v1::LoadModelRequest r;
    r.set_name(name);
    r.set_path(path);
    r.set_target_type(type);
    v1::LoadModelResponse reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->LoadModel(&ctx, r, &reply);
    if (out != nullptr) *out = reply;
    return s;
  }
  v1::ModelInfo info(const std::string& name, grpc::Status* status = nullptr) {
    v1::GetModelInfoRequest r;
    r.set_name(name);
    v1::ModelInfo reply;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->GetModelInfo(&ctx, r, &reply);
    if (status != nullptr) *status = s;
    return reply;
  }

  ModelDir dir_;
  testing::TestServer server_;
  std::unique_ptr<v1::Quantd::Stub> stub_;
};

TEST_F(ModelRpc, LoadInspectUnload) {
  v1::LoadModelResponse loaded;
  ASSERT_TRUE(load("tiny", "stories260K.gguf", "", &loaded).ok());
  EXPECT_EQ(loaded.model().tensor_count(), 48);
  EXPECT_EQ(loaded.model().bytes_allocated(), 0u);  // F32 kept in the mapping: no copy
  EXPECT_GT(loaded.model().bytes_mapped(), 1000000u);
  v1::ModelInfo i = info("tiny");
  EXPECT_EQ(i.summary().architecture(), "llama");
  EXPECT_EQ(i.hyper_parameters().embedding_length(), 64);
  EXPECT_EQ(i.hyper_parameters().block_count(), 5);
  EXPECT_EQ(i.hyper_parameters().head_count(), 8);
  EXPECT_EQ(i.hyper_parameters().head_count_kv(), 4);
  EXPECT_EQ(i.hyper_parameters().feed_forward_length(), 172);
  EXPECT_EQ(i.hyper_parameters().vocab_size(), 512);
  EXPECT_EQ(i.hyper_parameters().context_length(), 2048);
  ASSERT_EQ(i.tensors_size(), 48);
  for (const auto& t : i.tensors()) EXPECT_EQ(t.type(), "f32") << t.name();

  ASSERT_TRUE(load("q8", "stories260K-llamacpp-q8_0-fallback.gguf").ok());
  int q8 = 0, f16 = 0;
  const v1::ModelInfo q8_info = info("q8");
  for (const auto& t : q8_info.tensors()) {
    q8 += t.type() == "q8_0";
    f16 += t.type() == "f16";
    EXPECT_TRUE(t.mapped());
  }
  EXPECT_EQ(q8, 32);
  EXPECT_EQ(f16, 5);

  v1::ListModelsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListModels(&ctx, {}, &list).ok());
  EXPECT_EQ(list.models_size(), 2);

  v1::UnloadModelRequest u;
  u.set_name("tiny");
  v1::UnloadModelResponse ur;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->UnloadModel(&c2, u, &ur).ok());
  grpc::Status s;
  info("tiny", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->UnloadModel(&c3, u, &ur).error_code(), grpc::StatusCode::NOT_FOUND);
  info("q8", &s);
  EXPECT_TRUE(s.ok()) << "the other model is untouched";
}

TEST_F(ModelRpc, RequantizeAtLoadFallsBackForOddRows) {
  v1::LoadModelResponse loaded;
  ASSERT_TRUE(load("tiny-q8", "stories260K.gguf", "q8_0", &loaded).ok());
  EXPECT_GT(loaded.model().bytes_allocated(), 0u);
  const v1::ModelInfo q8_info = info("tiny-q8");
  for (const auto& t : q8_info.tensors()) {
    if (t.shape_size() == 1) {
      EXPECT_EQ(t.type(), "f32") << t.name();
      EXPECT_TRUE(t.mapped());
    } else if (t.shape(0) % 32 != 0) {
      EXPECT_EQ(t.type(), "f16") << t.name();  // ffn_down: 172-wide rows
    } else {
      EXPECT_EQ(t.type(), "q8_0") << t.name();
      EXPECT_FALSE(t.mapped());
    }
  }
}

TEST_F(ModelRpc, QuantizeModelReportsEveryTensorAndWritesGguf) {
  ASSERT_TRUE(load("tiny", "stories260K.gguf").ok());
  v1::QuantizeModelRequest r;
  r.set_source("tiny");
  r.set_output_name("tiny-q4");
  r.set_target_type("q4_0");
  r.add_keep("output.weight");
  r.set_output_path("sub/tiny-q4.gguf");
  v1::QuantizeModelResponse reply;
  grpc::ClientContext ctx;
  grpc::Status s = stub_->QuantizeModel(&ctx, r, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(reply.tensors_size(), 48);
  EXPECT_EQ(reply.written_path(), "sub/tiny-q4.gguf");
  EXPECT_LT(reply.bytes_after(), reply.bytes_before() / 3);
  for (const auto& t : reply.tensors()) {
    if (t.name() == "output.weight" || t.name().find("norm") != std::string::npos) {
      EXPECT_EQ(t.type_after(), t.type_before()) << t.name();
      EXPECT_FALSE(t.has_error());
    } else if (t.name().find("ffn_down") != std::string::npos) {
      EXPECT_EQ(t.type_after(), "f16");
      EXPECT_NE(t.note().find("172"), std::string::npos);
      EXPECT_GT(t.error().snr_db(), 60);  // f16 is nearly exact
    } else {
      EXPECT_EQ(t.type_after(), "q4_0") << t.name();
      EXPECT_GT(t.error().snr_db(), 10) << t.name();
      EXPECT_LT(t.error().snr_db(), 30) << t.name();  // 4 bits: not exact
      EXPECT_GT(t.error().cosine_similarity(), 0.9);
    }
  }
  // The written file loads back with the same types.
  ASSERT_TRUE(load("reloaded", "sub/tiny-q4.gguf").ok());
  v1::ModelInfo a = info("tiny-q4"), b = info("reloaded");
  ASSERT_EQ(a.tensors_size(), b.tensors_size());
  for (int i = 0; i < a.tensors_size(); ++i) {
    EXPECT_EQ(a.tensors(i).type(), b.tensors(i).type());
    EXPECT_EQ(a.tensors(i).bytes(), b.tensors(i).bytes());
  }
  // Writing over an existing file is refused.
  r.set_output_name("tiny-q4-again");
  grpc::ClientContext c2;
  EXPECT_EQ(stub_->QuantizeModel(&c2, r, &reply).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(ModelRpc, BadRequests) {
  ASSERT_TRUE(load("tiny", "stories260K.gguf").ok());
  struct Case {
    std::string name, path, type;
    grpc::StatusCode code;
  };
  for (const Case& c : {Case{"tiny", "sub/copy.gguf", "", grpc::StatusCode::ALREADY_EXISTS},
                        Case{"x", "../outside.gguf", "", grpc::StatusCode::PERMISSION_DENIED},
                        Case{"x", "/etc/passwd", "", grpc::StatusCode::PERMISSION_DENIED},
                        Case{"x", "escape.gguf", "", grpc::StatusCode::PERMISSION_DENIED},
                        Case{"x", "missing.gguf", "", grpc::StatusCode::NOT_FOUND},
                        Case{"x", "sub", "", grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"x", "truncated.gguf", "", grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"x", "stories260K.gguf", "q8_1", grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"x", "stories260K.gguf", "q4_K", grpc::StatusCode::INVALID_ARGUMENT},
                        Case{"", "stories260K.gguf", "", grpc::StatusCode::INVALID_ARGUMENT}}) {
    grpc::Status s = load(c.name, c.path, c.type);
    EXPECT_EQ(s.error_code(), c.code) << c.path << ": " << s.error_message();
    EXPECT_FALSE(s.error_message().empty());
    EXPECT_EQ(s.error_message().find(dir_.dir()), std::string::npos) << "the server's directory leaks: " << s.error_message();
    std::printf("| LoadModel name='%s' path='%s' type='%s' | %d | %s |\n", c.name.c_str(), c.path.c_str(),
                c.type.c_str(), s.error_code(), s.error_message().c_str());
  }
  grpc::Status s;
  info("tiny", &s);
  EXPECT_TRUE(s.ok()) << "the loaded model survives every failed load";
}

TEST_F(ModelRpc, ServerInfoListsIsaAndModels) {
  ASSERT_TRUE(load("tiny", "stories260K.gguf").ok());
  v1::ServerInfo i;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetServerInfo(&ctx, {}, &i).ok());
  EXPECT_FALSE(i.version().empty());
  EXPECT_FALSE(i.isa().empty());
  EXPECT_GE(i.available_isas_size(), 1);
  EXPECT_EQ(i.models_size(), 1);
  EXPECT_GT(i.models(0).bytes_mapped(), 0u);
}

}  // namespace
}  // namespace quantd
