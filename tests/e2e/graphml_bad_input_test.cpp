// import-onnx on damaged GraphML exports: one clear error line, exit 1 (never a crash),
// and no output file.
#include <filesystem>
#include <functional>
#include <unistd.h>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "graphml_test_support.h"

namespace modelexport::testing {
namespace {

const char* const kStem = "custom_scripted";

class GraphmlBadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test in its own process, in parallel: one source export each.
    sourceDir_ = freshWorkDir("graphml_bad_input_source_" + std::to_string(::getpid()));
    ProcessResult r = exportFixtureTo(kStem, sourceDir_, "--with-graphml");
    ASSERT_EQ(r.exitCode, 0) << r.output;
  }

  // A copy of the good export in a fresh directory.
  std::string copyExport(const std::string& name) {
    std::string dir = freshWorkDir("graphml_bad_" + name);
    for (const char* suffix : {"_hierarchical_graph.graphml", "_hierarchical_graph.onnxdata", "_htp_metadata.json"})
      std::filesystem::copy_file(sourceDir_ + "/" + kStem + suffix, dir + "/" + kStem + suffix);
    return dir;
  }

  std::string graphmlIn(const std::string& dir) { return dir + "/" + kStem + "_hierarchical_graph.graphml"; }

  void editXml(const std::string& dir, const std::function<void(pugi::xml_document&)>& edit) {
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_file(graphmlIn(dir).c_str()));
    edit(doc);
    ASSERT_TRUE(doc.save_file(graphmlIn(dir).c_str()));
  }

  // Runs import-onnx and checks the failure; returns the error line.
  std::string expectRejected(const std::string& dir, const std::string& mustMention) {
    const std::string output = dir + "/out.onnx";
    ProcessResult r = runModelexport("import-onnx " + shellQuote(graphmlIn(dir)) + " " + shellQuote(output));
    EXPECT_EQ(r.exitCode, 1) << r.output;
    EXPECT_EQ(r.output.rfind("modelexport: error: ", 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(mustMention), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(output));
    return r.output;
  }

  static std::string sourceDir_;
};

std::string GraphmlBadInput::sourceDir_;

TEST_F(GraphmlBadInput, TheGoodCopyImports) {
  std::string dir = copyExport("good");
  ProcessResult r = runModelexport("import-onnx " + shellQuote(graphmlIn(dir)) + " " + shellQuote(dir + "/out.onnx"));
  EXPECT_EQ(r.exitCode, 0) << r.output;
}

TEST_F(GraphmlBadInput, NotXml) {
  std::string dir = copyExport("not_xml");
  writeText(graphmlIn(dir), "this is not < xml");
  expectRejected(dir, "not well-formed XML");
}

TEST_F(GraphmlBadInput, TruncatedXml) {
  std::string dir = copyExport("truncated_xml");
  std::string text = readText(graphmlIn(dir));
  writeText(graphmlIn(dir), text.substr(0, text.size() / 2));
  expectRejected(dir, "not well-formed XML");
}

TEST_F(GraphmlBadInput, MissingGraphmlFile) {
  std::string dir = copyExport("missing_graphml");
  std::filesystem::remove(graphmlIn(dir));
  expectRejected(dir, "GraphML file not found");
}

TEST_F(GraphmlBadInput, MissingKeyDeclaration) {
  std::string dir = copyExport("missing_key");
  editXml(dir, [](pugi::xml_document& doc) {
    auto root = doc.child("graphml");
    root.remove_child(root.find_child_by_attribute("key", "id", "onnx_attributes"));
  });
  expectRejected(dir, "onnx_attributes");
}

TEST_F(GraphmlBadInput, UndeclaredDataKey) {
  std::string dir = copyExport("undeclared_key");
  editXml(dir, [](pugi::xml_document& doc) {
    doc.select_node("//node/data[@key='op_type']").node().attribute("key") = "bogus_key";
  });
  expectRejected(dir, "'bogus_key', which no <key> declares");
}

TEST_F(GraphmlBadInput, DanglingEdge) {
  std::string dir = copyExport("dangling_edge");
  editXml(dir, [](pugi::xml_document& doc) {
    doc.select_node("//edge").node().attribute("target") = "no-such-node";
  });
  expectRejected(dir, "target 'no-such-node', which is not a node");
}

TEST_F(GraphmlBadInput, DuplicateNodeId) {
  std::string dir = copyExport("duplicate_id");
  editXml(dir, [](pugi::xml_document& doc) {
    auto nodes = doc.select_nodes("//node[data[@key='node_kind']='op']");
    ASSERT_GE(nodes.size(), 2u);
    nodes[1].node().attribute("id") = nodes[0].node().attribute("id").value();
  });
  expectRejected(dir, "is used twice");
}

TEST_F(GraphmlBadInput, MissingOpNode) {
  std::string dir = copyExport("missing_op");
  editXml(dir, [](pugi::xml_document& doc) {
    auto node = doc.select_node("//node[data[@key='node_kind']='op']").node();
    // Drop its edges too so only the node count gives it away.
    std::string id = node.attribute("id").value();
    for (auto edge : doc.select_nodes(("//edge[@source='" + id + "' or @target='" + id + "']").c_str()))
      edge.node().parent().remove_child(edge.node());
    node.parent().remove_child(node);
  });
  expectRejected(dir, "op nodes but");
}

TEST_F(GraphmlBadInput, InvalidAttributeJson) {
  std::string dir = copyExport("bad_json");
  editXml(dir, [](pugi::xml_document& doc) {
    doc.select_node("//node/data[@key='input_names']").node().text() = "[\"unterminated";
  });
  expectRejected(dir, "'input_names' is not valid JSON");
}

TEST_F(GraphmlBadInput, MissingDataFile) {
  std::string dir = copyExport("missing_data");
  std::filesystem::remove(dir + "/" + kStem + "_hierarchical_graph.onnxdata");
  expectRejected(dir, "data file not found");
}

TEST_F(GraphmlBadInput, ShortDataFile) {
  std::string dir = copyExport("short_data");
  std::string path = dir + "/" + kStem + "_hierarchical_graph.onnxdata";
  std::string bytes = readText(path);
  ASSERT_GT(bytes.size(), 0u);
  writeText(path, bytes.substr(0, bytes.size() - 1));
  expectRejected(dir, "needs bytes");
}

TEST_F(GraphmlBadInput, MissingMetadataFile) {
  std::string dir = copyExport("missing_metadata");
  std::filesystem::remove(dir + "/" + kStem + "_htp_metadata.json");
  expectRejected(dir, "metadata file not found");
}

TEST_F(GraphmlBadInput, DataFileOutsideTheDirectory) {
  std::string dir = copyExport("data_path_escape");
  editXml(dir, [](pugi::xml_document& doc) {
    doc.select_node("/graphml/graph/data[@key='data_file']").node().text() = "../../etc/passwd";
  });
  expectRejected(dir, "must be a plain file name");
}

TEST_F(GraphmlBadInput, ExternalEntity) {
  std::string dir = copyExport("external_entity");
  std::string text = readText(graphmlIn(dir));
  size_t root = text.find("<graphml");
  text.insert(root, "<!DOCTYPE graphml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n");
  size_t opType = text.find("<data key=\"op_type\">");
  text.insert(text.find('>', opType) + 1, "&xxe;");
  writeText(graphmlIn(dir), text);
  expectRejected(dir, "DOCTYPE");
}

TEST_F(GraphmlBadInput, EntityExpansionBomb) {
  std::string dir = copyExport("entity_bomb");
  std::string text = readText(graphmlIn(dir));
  std::string doctype = "<!DOCTYPE graphml [<!ENTITY a0 \"lol\">";
  for (int k = 1; k < 10; ++k)
    doctype += "<!ENTITY a" + std::to_string(k) + " \"" + std::string() + "&a" + std::to_string(k - 1) + ";&a" +
               std::to_string(k - 1) + ";&a" + std::to_string(k - 1) + ";&a" + std::to_string(k - 1) + ";\">";
  doctype += "]>\n";
  text.insert(text.find("<graphml"), doctype);
  writeText(graphmlIn(dir), text);
  expectRejected(dir, "DOCTYPE");
}

}  // namespace
}  // namespace modelexport::testing
