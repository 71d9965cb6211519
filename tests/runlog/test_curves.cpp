// Tests for runlog/curves: curves.svg parsed back by a small strict XML parser written here (balanced tags,
// quoted attributes, only the five predefined entities), then checked panel by panel.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "runlog/curves.h"
#include "tests/common/temp_dir.h"

namespace fs = std::filesystem;
using aha::runlog::curves_svg;
using aha::runlog::write_curves_svg;
using nlohmann::json;

namespace {

struct Node {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // character data directly inside, entities decoded
  std::vector<Node> children;
};

// Parses one XML document: an optional <?xml ...?> declaration, then one root element. Any violation of
// well-formedness this writer could commit fails the test with the offset.
class XmlParser {
 public:
  explicit XmlParser(const std::string& text) : s_(text) {}

  Node document() {
    if (s_.compare(0, 5, "<?xml") == 0) {
      auto end = s_.find("?>");
      REQUIRE(end != std::string::npos);
      at_ = end + 2;
    }
    skip_space();
    Node root = element();
    skip_space();
    INFO("trailing content at " << at_);
    REQUIRE(at_ == s_.size());
    return root;
  }

 private:
  void skip_space() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
  }
  std::string name() {
    const size_t begin = at_;
    while (at_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[at_])) || s_[at_] == '-' ||
                               s_[at_] == ':' || s_[at_] == '_'))
      ++at_;
    INFO("expected a name at " << begin);
    REQUIRE(at_ > begin);
    return s_.substr(begin, at_ - begin);
  }
  std::string decoded(size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end; ++i) {
      INFO("raw '<' at " << i);
      REQUIRE(s_[i] != '<');
      if (s_[i] != '&') {
        out += s_[i];
        continue;
      }
      static const std::map<std::string, char> entities = {
          {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
      const size_t semicolon = s_.find(';', i);
      INFO("bad entity at " << i);
      REQUIRE(semicolon < end);
      auto it = entities.find(s_.substr(i + 1, semicolon - i - 1));
      REQUIRE(it != entities.end());
      out += it->second;
      i = semicolon;
    }
    return out;
  }
  Node element() {
    INFO("expected '<' at " << at_);
    REQUIRE(s_[at_] == '<');
    ++at_;
    Node node;
    node.name = name();
    for (;;) {
      skip_space();
      REQUIRE(at_ < s_.size());
      if (s_.compare(at_, 2, "/>") == 0) {
        at_ += 2;
        return node;
      }
      if (s_[at_] == '>') {
        ++at_;
        break;
      }
      const std::string attribute = name();
      INFO("attribute " << attribute << " at " << at_);
      REQUIRE(s_[at_] == '=');
      REQUIRE(s_[at_ + 1] == '"');
      const size_t end = s_.find('"', at_ + 2);
      REQUIRE(end != std::string::npos);
      REQUIRE(node.attributes.emplace(attribute, decoded(at_ + 2, end)).second);  // no duplicates
      at_ = end + 1;
    }
    for (;;) {
      const size_t next = s_.find('<', at_);
      REQUIRE(next != std::string::npos);
      node.text += decoded(at_, next);
      at_ = next;
      if (s_.compare(at_, 2, "</") == 0) {
        at_ += 2;
        INFO("closing tag for <" << node.name << ">");
        REQUIRE(name() == node.name);
        REQUIRE(s_[at_] == '>');
        ++at_;
        return node;
      }
      node.children.push_back(element());
    }
  }

  const std::string& s_;
  size_t at_ = 0;
};

Node parse_svg(const std::string& svg) {
  REQUIRE(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) == 0);
  Node root = XmlParser(svg).document();
  REQUIRE(root.name == "svg");
  REQUIRE(root.attributes["xmlns"] == "http://www.w3.org/2000/svg");
  REQUIRE(root.attributes["version"] == "1.1");
  return root;
}

void collect(const Node& node, const std::string& name, std::vector<const Node*>& out) {
  if (node.name == name) out.push_back(&node);
  for (const auto& child : node.children) collect(child, name, out);
}
std::vector<const Node*> all(const Node& node, const std::string& name) {
  std::vector<const Node*> out;
  collect(node, name, out);
  return out;
}

std::string all_text(const Node& node) {
  std::string out = node.text;
  for (const auto& child : node.children) out += all_text(child);
  return out;
}

// Every number in a coordinate attribute (path data, x, y, cx, ...): each must parse and be finite, and
// lie inside the picture (panel-local coordinates are inside it too).
std::vector<double> coordinates(const std::string& value) {
  std::vector<double> out;
  const char* p = value.c_str();
  while (*p) {
    if (std::isalpha(static_cast<unsigned char>(*p)) || *p == ' ' || *p == ',') {
      ++p;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(p, &end);
    INFO("not a number in '" << value << "'");
    REQUIRE(end != p);
    out.push_back(v);
    p = end;
  }
  return out;
}

void check_coordinates(const Node& node, double width, double height) {
  static const char* kCoordinateAttributes[] = {"d",  "x",  "y",  "cx",    "cy",    "x1",
                                                "x2", "y1", "y2", "width", "height"};
  for (const char* attribute : kCoordinateAttributes) {
    auto it = node.attributes.find(attribute);
    if (it == node.attributes.end()) continue;
    for (double v : coordinates(it->second)) {
      INFO(node.name << " " << attribute << "=\"" << it->second << "\"");
      REQUIRE(std::isfinite(v));
      REQUIRE(v >= 0);
      REQUIRE(v <= std::max(width, height));
    }
  }
  for (const auto& child : node.children) check_coordinates(child, width, height);
}

// The six panel groups, in drawing order: reward, accuracy, length, KL, entropy, format rate.
std::vector<const Node*> panels(const Node& root) {
  std::vector<const Node*> out;
  for (const auto& child : root.children)
    if (child.name == "g") out.push_back(&child);
  REQUIRE(out.size() == 6);
  return out;
}

size_t path_points(const Node& path) {
  const auto& d = path.attributes.at("d");
  return static_cast<size_t>(std::count(d.begin(), d.end(), 'M') + std::count(d.begin(), d.end(), 'L'));
}

std::vector<json> demo_rows(int steps) {
  std::vector<json> rows;
  for (int step = 1; step <= steps; ++step) {
    const double t = static_cast<double>(step) / steps;
    rows.push_back({{"step", step},
                    {"reward", 0.5 + t},
                    {"accuracy", 0.3 + 0.5 * t},
                    {"completions/mean_length", 30 + 20 * t},
                    {"completions/min_length", 10 + 10 * t},
                    {"completions/max_length", 60 + 30 * t},
                    {"lr", 1e-5}});
  }
  rows.push_back({{"step", 0}, {"eval/pass@1", 0.35}});
  rows.push_back({{"step", steps}, {"eval/pass@1", 0.75}});
  return rows;
}

}  // namespace

// Catches: unbalanced or unescaped markup, a panel drawn without its line or band, eval points not drawn,
// and a missing metric drawn as an empty axis instead of saying so.
TEST_CASE("curves_svg draws one panel per metric and says no data where a metric is missing",
          "[runlog][curves]") {
  const std::string svg = curves_svg(demo_rows(40), "run <tiny> & \"demo\"");
  Node root = parse_svg(svg);
  const double width = std::stod(root.attributes["width"]), height = std::stod(root.attributes["height"]);
  CHECK(root.attributes["viewBox"] == "0 0 " + root.attributes["width"] + " " + root.attributes["height"]);
  check_coordinates(root, width, height);
  CHECK(all_text(root).find("run <tiny> & \"demo\"") != std::string::npos);  // escaped, decodes back
  CHECK(all(root, "script").empty());

  auto groups = panels(root);
  for (int i : {0, 1, 2}) {  // reward, accuracy, length: axes + raw + smoothed (+ band for length)
    INFO("panel " << i);
    auto paths = all(*groups[i], "path");
    CHECK(paths.size() == (i == 2 ? 4u : 3u));
    CHECK(all_text(*groups[i]).find("no data") == std::string::npos);
    CHECK(path_points(*paths.back()) == 40);  // the smoothed line
  }
  CHECK(all(*groups[1], "circle").size() == 3);  // two eval/pass@1 points and their legend
  for (int i : {3, 4, 5}) {                      // kl, entropy, format_rate: not in the rows
    INFO("panel " << i);
    CHECK(all(*groups[i], "path").empty());
    CHECK(all_text(*groups[i]).find("no data") != std::string::npos);
  }
}

// A NaN loss or an inf KL must not put "nan" into path data (browsers then drop the whole path).
TEST_CASE("curves_svg skips NaN and infinite values", "[runlog][curves]") {
  std::vector<json> rows;
  const double values[] = {1.0, NAN, 2.0, INFINITY, -INFINITY, 3.0};
  for (int step = 0; step < 6; ++step)
    rows.push_back({{"step", step}, {"reward", values[step]}, {"kl", NAN}});
  rows.push_back({{"step", NAN}, {"reward", 5.0}});   // a row without a usable step is dropped whole
  rows.push_back({{"reward", 6.0}});                  // so is one without a step
  rows.push_back({{"step", 7}, {"reward", "high"}});  // and a non-number
  Node root = parse_svg(curves_svg(rows, "nan"));
  check_coordinates(root, 960, 600);
  auto groups = panels(root);
  auto reward_paths = all(*groups[0], "path");
  REQUIRE(reward_paths.size() == 2);  // axes + raw line; 3 points are too few to smooth
  CHECK(path_points(*reward_paths[1]) == 3);
  CHECK(all(*groups[0], "circle").size() == 3);
  CHECK(all_text(*groups[3]).find("no data") != std::string::npos);
}

// Catches a division by zero in the axis (one step, one value) and a crash or bad document on no rows.
TEST_CASE("curves_svg is valid for no rows and for a single row", "[runlog][curves]") {
  Node empty = parse_svg(curves_svg({}, ""));
  for (const Node* group : panels(empty)) CHECK(all_text(*group).find("no data") != std::string::npos);

  Node single = parse_svg(curves_svg({json{{"step", 5}, {"reward", 0.0}, {"kl", 0.25}}}, "one"));
  check_coordinates(single, 960, 600);
  auto groups = panels(single);
  CHECK(all(*groups[0], "circle").size() == 1);
  CHECK(all(*groups[3], "circle").size() == 1);
}

// A 5,000-step run is rewritten every step: the lines are thinned to ~1,000 points, and a one-step spike
// (a reward-hacking burst) survives the thinning because each bucket keeps its min and max.
TEST_CASE("curves_svg thins long runs but keeps spikes", "[runlog][curves]") {
  std::vector<json> rows;
  for (int step = 1; step <= 5000; ++step)
    rows.push_back({{"step", step}, {"reward", step == 2500 ? 100.0 : 1.0}});
  Node root = parse_svg(curves_svg(rows, "long"));
  auto paths = all(*panels(root)[0], "path");
  REQUIRE(paths.size() == 3);
  CHECK(path_points(*paths[1]) <= 1000);
  CHECK(path_points(*paths[2]) <= 1000);
  // The y axis ends at 100, the plot top (y = 34 in panel coordinates); the raw line must reach it.
  CHECK(paths[1]->attributes.at("d").find(" 34.00") != std::string::npos);
}

// A rate reads against the full [0, 1] scale; otherwise 0.30 → 0.35 looks like a jump to the top.
TEST_CASE("accuracy and format rate axes span 0 to 1", "[runlog][curves]") {
  std::vector<json> rows;
  for (int step = 1; step <= 3; ++step) rows.push_back({{"step", step}, {"accuracy", 0.3 + 0.01 * step}});
  Node root = parse_svg(curves_svg(rows, "rates"));
  std::vector<std::string> labels;
  for (const Node* text : all(*panels(root)[1], "text")) labels.push_back(text->text);
  CHECK(std::find(labels.begin(), labels.end(), "0") != labels.end());
  CHECK(std::find(labels.begin(), labels.end(), "1.0") != labels.end());
}

// Catches a partial curves.svg (a viewer refreshing mid-write) and a left-over temporary file.
TEST_CASE("write_curves_svg replaces the file atomically and names it on error", "[runlog][curves]") {
  aha::testing::TempDir dir("curves");
  const auto file = dir / "curves.svg";
  write_curves_svg(file, demo_rows(3), "first");
  write_curves_svg(file, demo_rows(12), "second");
  CHECK(dir.names() == std::vector<std::string>{"curves.svg"});
  std::ifstream in(file);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  CHECK(text == curves_svg(demo_rows(12), "second"));

  const auto missing = dir / "no-such-dir" / "curves.svg";
  CHECK_THROWS_WITH(write_curves_svg(missing, {}, "x"), Catch::Contains(missing.string()));
}
