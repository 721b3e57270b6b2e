// Loading TorchScript with tensors as views of the mapped file: same values as
// torch::jit::load, no copy of the large records, writes private to the process.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <torch/script.h>

#include "modelexport/mapped_archive.h"
#include "test_support.h"

namespace modelexport {
namespace {

using testing::freshWorkDir;

// A module with weights of several sizes, two of them the same size (the loader must
// give each record its own bytes whatever order LibTorch reads them in), and one below
// the size worth mapping.
std::string saveModule(const std::string& dir) {
  torch::manual_seed(7);
  torch::jit::Module m("Weights");
  m.register_parameter("big", torch::randn({256, 64}), false);
  m.register_parameter("twin_a", torch::randn({32, 64}), false);
  m.register_parameter("twin_b", torch::randn({64, 32}), false);
  m.register_parameter("tiny", torch::randn({5}), false);
  m.register_buffer("steps", torch::arange(2048, torch::kLong));
  m.define(R"(
    def forward(self, x):
        return x @ self.big.t() + self.twin_a.sum() + self.twin_b.sum() + self.tiny.sum()
  )");
  const std::string path = dir + "/weights.pt";
  m.save(path);
  return path;
}

std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(MappedArchive, SameTensorsAsJitLoadWithoutCopyingLargeRecords) {
  const std::string path = saveModule(freshWorkDir("mapped_archive_same"));
  torch::jit::Module reference = torch::jit::load(path);
  MappedArchive archive(path);
  EXPECT_GE(archive.lendableRecords(), 4u);
  torch::jit::Module loaded = archive.load();

  uint64_t largeBytes = 0;
  for (const auto& p : reference.named_parameters()) {
    const at::Tensor mine = loaded.attr(p.name).toTensor();
    EXPECT_TRUE(torch::equal(mine, p.value)) << p.name;
    if (p.value.nbytes() >= 4096) largeBytes += p.value.nbytes();
  }
  for (const auto& b : reference.named_buffers()) {
    EXPECT_TRUE(torch::equal(loaded.attr(b.name).toTensor(), b.value)) << b.name;
    largeBytes += b.value.nbytes();
  }
  const ArchiveLoadStats stats = archive.stats();
  EXPECT_EQ(stats.mappedBytes, largeBytes);
  EXPECT_GT(stats.copiedBytes, 0u);  // the pickles, the code and the tiny weight
  at::Tensor x = torch::randn({3, 64});
  EXPECT_TRUE(torch::allclose(loaded.forward({x}).toTensor(), reference.forward({x}).toTensor()));
}

TEST(MappedArchive, WritesToALoadedTensorStayInTheProcess) {
  const std::string path = saveModule(freshWorkDir("mapped_archive_cow"));
  const std::string before = fileBytes(path);
  at::Tensor original;
  {
    MappedArchive archive(path);
    torch::jit::Module loaded = archive.load();
    at::Tensor big = loaded.attr("big").toTensor();
    original = big.clone();
    big.add_(1.0);
    EXPECT_TRUE(torch::equal(big, original + 1.0));
  }
  EXPECT_EQ(fileBytes(path), before);
  MappedArchive again(path);
  EXPECT_TRUE(torch::equal(again.load().attr("big").toTensor(), original));
}

TEST(MappedArchive, TensorsOutliveTheArchive) {
  const std::string path = saveModule(freshWorkDir("mapped_archive_lifetime"));
  at::Tensor big;
  at::Tensor twin;
  {
    MappedArchive archive(path);
    torch::jit::Module loaded = archive.load();
    big = loaded.attr("big").toTensor();
    twin = loaded.attr("twin_b").toTensor();
  }  // the archive and the module are gone; the mapping must stay while tensors use it
  torch::jit::Module reference = torch::jit::load(path);
  EXPECT_TRUE(torch::equal(big, reference.attr("big").toTensor()));
  EXPECT_TRUE(torch::equal(twin, reference.attr("twin_b").toTensor()));
  big = at::Tensor();  // the last holders let go: unmapped without touching free()
  twin = at::Tensor();
  at::Tensor after = torch::ones({64, 64});  // the allocator still serves ordinary tensors
  EXPECT_EQ(after.sum().item<float>(), 4096.0f);
}

TEST(MappedArchive, UnreadableFileThrows) {
  EXPECT_THROW(MappedArchive(freshWorkDir("mapped_archive_missing") + "/nope.pt"), std::system_error);
}

}  // namespace
}  // namespace modelexport
