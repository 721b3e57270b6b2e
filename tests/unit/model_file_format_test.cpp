// The sniffer that says what a model file is (model_file_format.h), on zips written here
// record by record, so each rule of PyTorch's reader it follows is tried alone.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "modelexport/model_file_format.h"
#include "test_support.h"
#include "test_zips.h"

namespace modelexport {
namespace {

using testing::freshWorkDir;
using testing::storedZip;

class ModelFileFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = freshWorkDir("model_file_format"); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string dir_;
};

TEST_F(ModelFileFormatTest, TellsTorchScriptFromTorchExportByTheirRecords) {
  const auto script = write("script.pt", storedZip({{"m/version", "3"}, {"m/data.pkl", "x"}, {"m/code/__torch__.py", "x"}}));
  const auto program = write("program.pt2", storedZip({{"m/version", "1"}, {"m/models/model.json", "{}"}}));
  const auto both = write("both.pt2", storedZip({{"m/.data/version", "1"}, {"m/code/x.py", ""}, {"m/models/m.json", ""}}));
  EXPECT_EQ(sniffModelFile(script), ModelFileFormat::kTorchScript);
  EXPECT_EQ(sniffModelFile(program), ModelFileFormat::kTorchExport);
  EXPECT_EQ(sniffModelFile(both), ModelFileFormat::kTorchExport);
  EXPECT_TRUE(isTorchScriptArchive(script));
  EXPECT_TRUE(isTorchExportArchive(program));
  EXPECT_FALSE(isTorchExportArchive(script));
}

// What PyTorch's reader refuses is no archive: no version record, a record outside the
// first record's folder, a first record in no folder, no records.
TEST_F(ModelFileFormatTest, WhatPyTorchsReaderRefusesIsNoArchive) {
  EXPECT_EQ(sniffModelFile(write("a.pt", storedZip({{"m/code/x.py", ""}}))), ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(write("b.pt2", storedZip({{"m/version", "1"}, {"n/models/model.json", ""}}))),
            ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(write("c.pt", storedZip({{"version", "1"}, {"code/x.py", ""}}))), ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(write("d.pt", storedZip({}))), ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(write("e.pt", storedZip({{"m/version", "1"}, {"m/data.pkl", ""}}))), ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(dir_ + "/missing.pt"), ModelFileFormat::kOther);
  EXPECT_EQ(sniffModelFile(dir_), ModelFileFormat::kOther);
}

TEST_F(ModelFileFormatTest, ProgramRecordsAreModelsJsonFiles) {
  EXPECT_TRUE(isTorchExportProgramRecord("models/model.json"));
  EXPECT_TRUE(isTorchExportProgramRecord("models/m.json"));
  EXPECT_FALSE(isTorchExportProgramRecord("models/.json"));
  EXPECT_FALSE(isTorchExportProgramRecord("models/model.txt"));
  EXPECT_FALSE(isTorchExportProgramRecord("data/models/model.json"));
}

TEST_F(ModelFileFormatTest, SaysWhatAFileThatIsNoModelHolds) {
  const std::string checkpoint = storedZip({{"m/version", "3"}, {"m/data.pkl", "x"}});
  EXPECT_EQ(nonModelFileKind(write("empty.pt", "")), NonModelFileKind::kEmpty);
  EXPECT_EQ(nonModelFileKind(dir_ + "/missing.pt"), NonModelFileKind::kEmpty);
  EXPECT_EQ(nonModelFileKind(write("checkpoint.pt", checkpoint)), NonModelFileKind::kTorchSaveCheckpoint);
  EXPECT_EQ(nonModelFileKind(write("cut.pt", storedZip({{"m/version", "3"}}).substr(0, 20))),
            NonModelFileKind::kTruncatedZip);
  EXPECT_EQ(nonModelFileKind(write("other.zip", storedZip({{"readme.txt", "hi"}}))), NonModelFileKind::kZipWithoutCode);
  EXPECT_EQ(nonModelFileKind(write("code.pt", storedZip({{"m/code/x.py", ""}}))), NonModelFileKind::kTorchScriptLike);
  EXPECT_EQ(nonModelFileKind(write("legacy.pt", std::string("\x80\x02}q\x00.", 6))), NonModelFileKind::kPickle);
  EXPECT_EQ(nonModelFileKind(write("model.onnx", std::string("\x08\x07\x12\x04", 4))), NonModelFileKind::kProtobuf);
  EXPECT_EQ(nonModelFileKind(write("text.pt", "hello")), NonModelFileKind::kNotZip);
}

}  // namespace
}  // namespace modelexport
