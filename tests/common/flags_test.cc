#include "server/common/flags.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace quantd::flags {
namespace {

using Args = std::vector<std::string>;

// A flag of every kind, with quantd's and quantctl's spellings and defaults.
struct Example {
  std::string model_dir, listen = "127.0.0.1:50051";
  int max_tokens = 128;
  int64_t max_message_bytes = 256ll << 20, max_tensor_bytes = 16ll << 30, offset = -3;
  uint64_t seed = 1;
  double temperature = 0.8;
  bool stream = false;
  std::vector<std::string> model, threads = {"1", "2"}, stop;
  std::string out;
  FlagSet set{"example", "usage: example [flags] FILE..."};

  Example() {
    set.add("model_dir", &model_dir, "Directory models are relative to.");
    set.add("listen", &listen, "gRPC listen address.", "host:port");
    set.add("max-tokens", &max_tokens, "Tokens to generate at most.");
    set.add_bytes("max_message_bytes", &max_message_bytes, "Largest gRPC message.");
    set.add_bytes("max_tensor_bytes", &max_tensor_bytes, "Largest streamed tensor.");
    set.add("offset", &offset, "A signed number.");
    set.add("seed", &seed, "Random seed.");
    set.add("temperature", &temperature, "Sampling temperature.");
    set.add("stream", &stream, "Upload in chunks.");
    set.add_list("model", &model, "NAME=PATH, comma-separated.");
    set.add_list("threads", &threads, "Thread counts to try.");
    set.add_repeated("stop", &stop, "Stop string.");
    set.add("o", &out, "Output file.", "path");
    set.add_environment("QUANTD_ISA", "Forces a kernel level.");
  }
  absl::StatusOr<Args> parse(const Args& args) { return set.parse(args); }
};

TEST(Flags, DashesAndUnderscoresAreTheSame) {
  Example e;
  ASSERT_TRUE(e.parse({"--model-dir=/m", "--max_tokens=7", "--max-message-bytes", "1024"}).ok());
  EXPECT_EQ(e.model_dir, "/m");
  EXPECT_EQ(e.max_tokens, 7);
  EXPECT_EQ(e.max_message_bytes, 1024);
  EXPECT_TRUE(e.set.given("model_dir"));
  EXPECT_TRUE(e.set.given("model-dir"));
  EXPECT_TRUE(e.set.given("max_tokens"));
  EXPECT_FALSE(e.set.given("listen"));
}

TEST(Flags, ValueFormsTypesAndPositionals) {
  Example e;
  auto positional = e.parse({"a.npy", "--listen", "0.0.0.0:1", "--offset=-5", "--seed=18446744073709551615",
                             "--temperature", "0.25", "-o", "out.qt", "-", "-1", "--", "--not-a-flag"});
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_EQ(*positional, (Args{"a.npy", "-", "-1", "--not-a-flag"}));
  EXPECT_EQ(e.listen, "0.0.0.0:1");
  EXPECT_EQ(e.offset, -5);
  EXPECT_EQ(e.seed, UINT64_MAX);
  EXPECT_DOUBLE_EQ(e.temperature, 0.25);
  EXPECT_EQ(e.out, "out.qt");
  EXPECT_FALSE(e.set.help_requested());
}

TEST(Flags, BooleansNeverTakeTheNextArgument) {
  Example e;
  auto positional = e.parse({"--stream", "file"});
  ASSERT_TRUE(positional.ok());
  EXPECT_TRUE(e.stream);
  EXPECT_EQ(*positional, Args{"file"});
  for (const char* no : {"--stream=false", "--stream=0", "--stream=no", "--stream=FALSE"}) {
    Example f;
    ASSERT_TRUE(f.parse({no}).ok()) << no;
    EXPECT_FALSE(f.stream) << no;
  }
  Example g;
  EXPECT_FALSE(g.parse({"--stream=maybe"}).ok());
}

TEST(Flags, ByteSizesTakeUnitsAndPlainIntegers) {
  Example e;
  ASSERT_TRUE(e.parse({"--max_message_bytes=256MiB", "--max-tensor-bytes=1.5GiB"}).ok());
  EXPECT_EQ(e.max_message_bytes, 268435456);
  EXPECT_EQ(e.max_tensor_bytes, 3ll << 29);
  Example f;
  ASSERT_TRUE(f.parse({"--max_message_bytes=268435456"}).ok());  // deploy/k8s/base/quantd.flags
  EXPECT_EQ(f.max_message_bytes, 268435456);
  Example g;
  const auto bad = g.parse({"--max_message_bytes=256MB"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--max_message_bytes=256MB"), absl::string_view::npos) << bad.status();
}

TEST(Flags, ListsReplaceTheirDefaultThenAppend) {
  Example e;
  ASSERT_TRUE(e.parse({"--threads=4", "--model=a=x.gguf,b=y.gguf:q8_0", "--model", "c=z", "--threads=8"}).ok());
  EXPECT_EQ(e.threads, (std::vector<std::string>{"4", "8"}));
  EXPECT_EQ(e.model, (std::vector<std::string>{"a=x.gguf", "b=y.gguf:q8_0", "c=z"}));
  Example f;
  ASSERT_TRUE(f.parse({"--model="}).ok());
  EXPECT_TRUE(f.model.empty());
  EXPECT_EQ(f.threads, (std::vector<std::string>{"1", "2"}));
}

TEST(Flags, RepeatedKeepsCommas) {
  Example e;
  ASSERT_TRUE(e.parse({"--stop=a,b", "--stop", "c"}).ok());
  EXPECT_EQ(e.stop, (std::vector<std::string>{"a,b", "c"}));
}

TEST(Flags, ErrorsNameTheFlag) {
  struct Case {
    Args args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--nope"}, "unknown flag --nope"},
           {{"--modle_dir=x"}, "unknown flag --modle_dir (did you mean --model_dir?)"},
           {{"-x"}, "unknown flag -x"},
           {{"--max_tokens"}, "--max_tokens needs a value"},
           {{"--max-tokens=lots"}, "--max-tokens=lots: expected an integer"},
           {{"--temperature=warm"}, "--temperature=warm: expected a number"},
           {{"--seed=-1"}, "--seed=-1: expected an integer"},
       }) {
    Example e;
    const auto r = e.parse(c.args);
    ASSERT_FALSE(r.ok()) << c.args[0];
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), absl::string_view::npos) << r.status();
  }
}

TEST(Flags, UnknownFlagExitsTwoNamingItAndHelp) {
  Example e;
  std::string program = "example", flag = "--no-such-flag";
  char* argv[] = {program.data(), flag.data(), nullptr};
  EXPECT_EXIT(e.set.parse_or_exit(2, argv), testing::ExitedWithCode(2),
              "example: unknown flag --no-such-flag \\(see example --help\\)");
}

TEST(Flags, HelpExitsZero) {
  Example e;
  std::string program = "example", flag = "-h";
  char* argv[] = {program.data(), flag.data(), nullptr};
  EXPECT_EXIT(
      {
        e.set.parse_or_exit(2, argv);
        std::exit(1);
      },
      testing::ExitedWithCode(0), "");
}

class FlagFile : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    const std::string path = testing::TempDir() + "/flags_test_" + std::to_string(files_++) + ".flags";
    std::ofstream(path) << text;
    return path;
  }
  int files_ = 0;
};

TEST_F(FlagFile, OneFlagALineWithComments) {
  // The shape of deploy/k8s/base/quantd.flags.
  const std::string path = write(
      "# comment\n--threads=4\n\n   --max_message_bytes=268435456  \n# Models: none\n--model=\n"
      "--listen 0.0.0.0:50051\n--stream\n");
  Example e;
  auto positional = e.parse({"--model=a=b", "--flagfile=" + path, "--max-tokens=9"});
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_TRUE(positional->empty());
  EXPECT_EQ(e.threads, std::vector<std::string>{"4"});
  EXPECT_EQ(e.max_message_bytes, 268435456);
  EXPECT_EQ(e.model, std::vector<std::string>{"a=b"});  // "--model=" adds nothing
  EXPECT_EQ(e.listen, "0.0.0.0:50051");
  EXPECT_TRUE(e.stream);
  EXPECT_EQ(e.max_tokens, 9);
  Example f;
  ASSERT_TRUE(f.parse({"--flagfile", path, "--threads=2"}).ok());
  EXPECT_EQ(f.threads, (std::vector<std::string>{"4", "2"}));  // later flags add to or override the file
}

TEST_F(FlagFile, ErrorsNameTheFileAndLine) {
  Example e;
  auto r = e.parse({"--flagfile=" + write("--threads=1\n--bogus=1\n")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown flag --bogus"), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find(".flags"), absl::string_view::npos) << r.status();
  Example f;
  r = f.parse({"--flagfile=" + write("--threads=1\nthreads=2\n")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(":2: 'threads=2' is not a flag"), absl::string_view::npos) << r.status();
  Example g;
  r = g.parse({"--flagfile=/nonexistent/quantd.flags"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--flagfile=/nonexistent/quantd.flags: cannot read"), absl::string_view::npos);
  Example h;
  const std::string self = testing::TempDir() + "/flags_test_self.flags";
  std::ofstream(self) << "--flagfile=" << self << "\n";
  r = h.parse({"--flagfile=" + self});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested too deep"), absl::string_view::npos) << r.status();
}

TEST(Flags, HelpListsEveryFlagWithTypeDefaultAndHelp) {
  Example e;
  ASSERT_TRUE(e.parse({"--help"}).ok());
  EXPECT_TRUE(e.set.help_requested());
  const std::string help = e.set.help();
  for (const char* line : {
           "usage: example [flags] FILE...",
           "--model_dir=string                default none",
           "Directory models are relative to.",
           "--listen=host:port",
           "default 127.0.0.1:50051",
           "--max-tokens=int",
           "default 128",
           "--max_message_bytes=bytes",
           "default 256 MiB",
           "Largest gRPC message.",
           "--max_tensor_bytes=bytes",
           "default 16 GiB",
           "--offset=int",
           "default -3",
           "--seed=uint",
           "--temperature=number",
           "default 0.8",
           "--stream[=bool]",
           "default false",
           "--model=list",
           "default none",
           "--threads=list",
           "default 1,2",
           "--stop=string, repeatable",
           "-o path",
           "--flagfile=path",
           "--help, -h",
           "QUANTD_ISA",
           "Forces a kernel level.",
           "'-' and '_' in names are the same",
       }) {
    EXPECT_NE(help.find(line), std::string::npos) << "missing '" << line << "' in\n" << help;
  }
}

TEST(Flags, HelpWrapsLongText) {
  bool b = false;
  FlagSet set("x", "");
  set.add("long", &b, std::string(30, 'a') + " " + std::string(40, 'b') + " " + std::string(40, 'c'));
  const std::string help = set.flags_help(false);
  EXPECT_NE(help.find("\n      " + std::string(40, 'c') + "\n"), std::string::npos) << help;
}

}  // namespace
}  // namespace quantd::flags
