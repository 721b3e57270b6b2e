// Loading TorchScript with tensors as views of the mapped file: same values as
// torch::jit::load, no copy of the large records, writes private to the process.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

#include "modelexport/mapped_archive.h"
#include "test_support.h"
#include "test_zips.h"

namespace modelexport {
namespace {

using testing::freshWorkDir;
using testing::withZip64Directory;

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

// A submodule whose __setstate__ allocates, while the load runs, a tensor the size of a
// record LibTorch has not read yet (the later submodule's weight) and writes into it, as
// a quantized module's packed weights do (onednn reorders them through LibTorch's CPU
// allocator). Lending goes by size, so that allocation may get the record's mapped
// bytes; the record must still load with its own values from the file.
TEST(MappedArchive, AnAllocationOfARecordsSizeDuringTheLoadDoesNotChangeTheRecord) {
  const std::string path = freshWorkDir("mapped_archive_setstate") + "/setstate.pt";
  torch::manual_seed(11);
  {
    torch::jit::Module root("Root");
    torch::jit::Module packer("Packer");
    packer.register_parameter("w", torch::randn({1024}), false);
    packer.register_attribute("scratch", c10::TensorType::get(), torch::zeros({1024}));
    packer.define(R"(
      def __getstate__(self) -> Tuple[Tensor, Tensor]:
          return (self.w, self.w)

      def __setstate__(self, state: Tuple[Tensor, Tensor]) -> None:
          self.w = state[0]
          self.scratch = torch.full([1024], 7.0)

      def forward(self, x):
          return x + self.w
    )");
    torch::jit::Module later("Later");
    later.register_parameter("v", torch::randn({1024}), false);  // 4096 bytes, as scratch
    later.register_parameter("u", torch::randn({1024}), false);
    root.register_module("packer", packer);
    root.register_module("later", later);
    root.define(R"(
      def forward(self, x):
          return self.packer.forward(x) * self.later.v + self.later.u
    )");
    root.save(path);
  }
  torch::jit::Module reference = torch::jit::load(path);
  MappedArchive archive(path);
  torch::jit::Module loaded = archive.load();
  for (const char* name : {"v", "u"}) {
    const at::Tensor mine = loaded.attr("later").toModule().attr(name).toTensor();
    const at::Tensor theirs = reference.attr("later").toModule().attr(name).toTensor();
    EXPECT_TRUE(torch::equal(mine, theirs)) << name << ": " << mine.slice(0, 0, 4) << " vs " << theirs.slice(0, 0, 4);
  }
  EXPECT_TRUE(torch::equal(loaded.attr("packer").toModule().attr("w").toTensor(),
                           reference.attr("packer").toModule().attr("w").toTensor()));
  EXPECT_TRUE(torch::equal(loaded.attr("packer").toModule().attr("scratch").toTensor(), torch::full({1024}, 7.0)));
}

// Archives over 4 GiB need 64-bit offsets; the same reader path is taken here on a small
// one written that way (LibTorch reads it too, which the reference load checks).
TEST(MappedArchive, ReadsAZip64Directory) {
  const std::string dir = freshWorkDir("mapped_archive_zip64");
  const std::string path = saveModule(dir);
  const std::string zip64Path = dir + "/weights_zip64.pt";
  std::ofstream(zip64Path, std::ios::binary) << withZip64Directory(fileBytes(path));

  MappedArchive plain(path);
  plain.load();
  MappedArchive archive(zip64Path);
  EXPECT_EQ(archive.lendableRecords(), plain.lendableRecords());
  torch::jit::Module loaded = archive.load();
  torch::jit::Module reference = torch::jit::load(zip64Path);
  for (const auto& p : reference.named_parameters())
    EXPECT_TRUE(torch::equal(loaded.attr(p.name).toTensor(), p.value)) << p.name;
  EXPECT_GT(archive.stats().mappedBytes, 0u);
  EXPECT_EQ(archive.stats().mappedBytes, plain.stats().mappedBytes);
}

// Fuzz findings: a mutated data.pkl stated a 4 GB string, which LibTorch's unpickler
// allocated (and zeroed) before finding the file too short; a debug_pkl's memo index
// made it size its memo table at 27 GB.
TEST(MappedArchive, PicklesStatingMoreThanTheyHoldAreRefusedBeforeTheUnpickler) {
  const std::pair<const char*, const char*> findings[] = {
      {"finding_pickle_string_past_end.pt", "record data.pkl is damaged: a value of 4227858433 bytes"},
      {"finding_pickle_memo_index_huge.pt",
       "record code/__torch__.py.debug_pkl is damaged: a memo index of 1701867617 at byte 1019"}};
  for (const auto& [file, expected] : findings) {
    MappedArchive archive(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/fuzz/inputs/zip_directory/" + file);
    try {
      archive.load();
      ADD_FAILURE() << file << " loaded";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << file << ": " << e.what();
    }
  }
}

// The source-range pickles (code/*.py.debug_pkl) are unpickled when an error shows a
// source line: a stated length past their end is refused before the load as well.
TEST(MappedArchive, ADebugPickleStatingMoreBytesThanItHasIsRefused) {
  const std::string dir = freshWorkDir("mapped_archive_debug_pkl");
  const std::string good = saveModule(dir);
  const std::string damaged = dir + "/damaged.pt";
  std::string replaced;
  {
    caffe2::serialize::PyTorchStreamReader reader(good);
    caffe2::serialize::PyTorchStreamWriter writer(damaged);
    for (const std::string& name : reader.getAllRecords()) {
      if (name == "version" || name == ".data/version" || name == "byteorder" || name == ".data/serialization_id")
        continue;  // the writer writes these itself
      auto [bytes, size] = reader.getRecord(name);
      std::string data(static_cast<const char*>(bytes.get()), size);
      if (replaced.empty() && name.size() > 10 && name.compare(name.size() - 10, 10, ".debug_pkl") == 0) {
        data = std::string("\x80\x02X\x00\x00\x00\x40", 7) + "short.";  // a 1 GiB string
        replaced = name;
      }
      writer.writeRecord(name, data.data(), data.size());
    }
    writer.writeEndOfFile();
  }
  ASSERT_FALSE(replaced.empty()) << "no debug_pkl record in " << good;
  MappedArchive archive(damaged);
  try {
    archive.load();
    ADD_FAILURE() << "loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("record " + replaced + " is damaged: a value of 1073741824 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(MappedArchive(good).load());
}

TEST(MappedArchive, UnreadableFileThrows) {
  EXPECT_THROW(MappedArchive(freshWorkDir("mapped_archive_missing") + "/nope.pt"), std::system_error);
}

}  // namespace
}  // namespace modelexport
