// Weights over a mapped file: read where used, dropped from the resident set after,
// copied to external data file to file; a write in memory is kept and written.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <torch/script.h>

#include "modelexport/file_backed_tensors.h"
#include "modelexport/weight_payloads.h"
#include "test_support.h"

namespace modelexport {
namespace {

using testing::freshWorkDir;

std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file of `floats` random float32 values after a 64-byte header.
std::string writeFloats(const std::string& path, const at::Tensor& values) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(64, 'h');
  out.write(static_cast<const char*>(values.data_ptr()), static_cast<std::streamsize>(values.nbytes()));
  return path;
}

// Pages of [p, p + n) in this process's resident set (pagemap's present bit; mincore
// would count the page cache).
size_t residentPages(const void* p, size_t n) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  EXPECT_GE(fd, 0);
  size_t resident = 0;
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) / page, end = (reinterpret_cast<uintptr_t>(p) + n + page - 1) / page;
  for (uintptr_t at = first; at < end; ++at) {
    uint64_t entry = 0;
    EXPECT_EQ(::pread(fd, &entry, 8, static_cast<off_t>(at * 8)), 8);
    resident += (entry >> 63) & 1;
  }
  ::close(fd);
  return resident;
}

TEST(FileBackedTensors, ReadWhereUsedAndDroppedAfter) {
  const std::string dir = freshWorkDir("file_backed_read");
  torch::manual_seed(3);
  const at::Tensor values = torch::randn({1024, 256});
  auto file = MappedFile::open(writeFloats(dir + "/w.bin", values));
  at::Tensor w = file->tensor(64, values.nbytes(), at::kFloat).view({1024, 256});
  EXPECT_EQ(residentPages(w.data_ptr(), w.nbytes()), 0u);
  EXPECT_TRUE(torch::equal(w, values));
  EXPECT_GT(residentPages(w.data_ptr(), w.nbytes()), 200u);
  dropReadPages(w);
  EXPECT_EQ(residentPages(w.data_ptr(), w.nbytes()), 0u);
  EXPECT_TRUE(torch::equal(w, values));  // read again from the page cache

  const auto span = pristineFileSpan(w.data_ptr(), w.nbytes());
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->offset, 64u);
  EXPECT_FALSE(pristineFileSpan(values.data_ptr(), values.nbytes()).has_value());  // not a mapping
}

TEST(FileBackedTensors, AWriteStaysInMemoryAndIsNeitherDroppedNorCopiedFromTheFile) {
  const std::string dir = freshWorkDir("file_backed_write");
  torch::manual_seed(4);
  const at::Tensor values = torch::randn({512, 64});
  auto file = MappedFile::open(writeFloats(dir + "/w.bin", values));
  at::Tensor w = file->tensor(64, values.nbytes(), at::kFloat).view({512, 64});
  w[100].fill_(7.0f);
  dropReadPages(w);
  EXPECT_EQ(w[100][3].item<float>(), 7.0f);
  EXPECT_FALSE(pristineFileSpan(w.data_ptr(), w.nbytes()).has_value());
  EXPECT_TRUE(pristineFileSpan(w[0].data_ptr(), 64 * 4).has_value());  // an untouched page
  EXPECT_EQ(fileBytes(dir + "/w.bin").substr(64 + 100 * 64 * 4, 4),
            std::string(static_cast<const char*>(values[100].data_ptr()), 4));  // the file is as it was
}

// External data from mapped weights: the bytes of the in-memory path, a contiguous one
// copied from the file, a transposed view reordered, a written one from memory.
TEST(FileBackedTensors, ExternalDataFromAMappingHasTheBytesOfTheTensors) {
  const std::string dir = freshWorkDir("file_backed_external");
  torch::manual_seed(5);
  const at::Tensor values = torch::randn({3 * 300 * 200});
  auto file = MappedFile::open(writeFloats(dir + "/w.bin", values));
  at::Tensor all = file->tensor(64, values.nbytes(), at::kFloat);
  WeightPayloads payloads;
  payloads.byName["a"] = all.slice(0, 0, 60000).view({300, 200});
  payloads.byName["b"] = all.slice(0, 60000, 120000).view({300, 200}).t();
  at::Tensor c = all.slice(0, 120000, 180000).view({300, 200});
  c[7].fill_(-1.0f);
  payloads.byName["c"] = c;
  payloads.byName["h"] = all.slice(0, 0, 60000).view({300, 200}).to(at::kHalf).t();  // in memory

  onnx::ModelProto model;
  model.set_ir_version(8);
  for (const char* name : {"a", "b", "c", "h"})
    *model.mutable_graph()->add_initializer() = payloadPlaceholder(payloads.byName[name], name);
  const std::string path = dir + "/m.onnx";
  const WrittenModel written = writeModelWithPayloads(model, payloads, path, ExternalData::Always);
  ASSERT_TRUE(written.external);
  const std::string data = fileBytes(written.dataPath);
  for (const auto& init : model.graph().initializer()) {
    size_t offset = 0, length = 0;
    for (const auto& e : init.external_data()) {
      if (e.key() == "offset") offset = std::stoull(e.value());
      if (e.key() == "length") length = std::stoull(e.value());
    }
    EXPECT_EQ(offset % 4096, 0u) << init.name();
    const at::Tensor expected = payloads.byName[init.name()].contiguous();
    ASSERT_EQ(length, expected.nbytes()) << init.name();
    EXPECT_EQ(data.substr(offset, length), std::string(static_cast<const char*>(expected.data_ptr()), length))
        << init.name();
  }
}

}  // namespace
}  // namespace modelexport
