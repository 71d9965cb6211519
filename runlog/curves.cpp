// curves.svg by hand: nice axis ticks, a debiased EMA, and SVG text. The panels and choices are in curves.h.
#include "runlog/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace aha::runlog {
namespace {

struct Panel {
  const char* title;
  const char* key;
  const char* color;
  const char* band_min = nullptr;  // keys of a shaded min..max band, drawn when both are present
  const char* band_max = nullptr;
  const char* eval_metric = nullptr;  // held-out evals' eval/<name>/<metric> (and eval/<metric>), as points
  bool unit_interval = false;      // a rate: the y axis always spans [0, 1]
};

const Panel kPanels[] = {
    {"reward", "reward", "#1f77b4"},
    {"accuracy", "accuracy", "#2ca02c", nullptr, nullptr, "pass@1", true},
    {"response length", "completions/mean_length", "#ff7f0e", "completions/min_length", "completions/max_length"},
    {"KL", "kl", "#d62728"},
    {"entropy", "entropy", "#9467bd"},
    {"format rate", "format_rate", "#8c564b", nullptr, nullptr, nullptr, true},
};
constexpr int kColumns = 3;

// Geometry in SVG user units.
constexpr double kPanelWidth = 320, kPanelHeight = 236, kHeaderHeight = 50;
constexpr double kPlotLeft = 62, kPlotRight = 306, kPlotTop = 34, kPlotBottom = 196;
constexpr size_t kMaxPointsPerLine = 1000;
constexpr size_t kSmoothFrom = 10;  // fewer points than this are drawn raw only

struct Point {
  double step, value;
};

// Values beyond ±1e100 count as missing: no metric lives there, and the axis arithmetic would overflow.
bool usable(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && std::abs(value.get<double>()) < 1e100;
}

std::vector<Point> series(const std::vector<nlohmann::json>& rows, const char* key) {
  std::vector<Point> points;
  if (key == nullptr) return points;
  for (const auto& row : rows) {
    if (!row.is_object() || !row.contains("step") || !usable(row["step"])) continue;
    auto it = row.find(key);
    if (it != row.end() && usable(*it)) points.push_back({row["step"].get<double>(), it->get<double>()});
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.step < b.step; });
  return points;
}

// Every held-out eval's series of `metric`: the keys eval/<name>/<metric> (and eval/<metric>), by key.
std::vector<std::pair<std::string, std::vector<Point>>> eval_series(const std::vector<nlohmann::json>& rows,
                                                                    const char* metric) {
  std::vector<std::pair<std::string, std::vector<Point>>> out;
  if (metric == nullptr) return out;
  const std::string suffix = std::string("/") + metric;
  std::vector<std::string> keys;
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    for (const auto& [key, _] : row.items())
      if (key.rfind("eval/", 0) == 0 && key.size() > suffix.size() &&
          key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& key : keys) out.emplace_back(key, series(rows, key.c_str()));
  return out;
}

// The min..max band from the rows that carry both ends.
std::pair<std::vector<Point>, std::vector<Point>> band_series(const std::vector<nlohmann::json>& rows,
                                                              const char* min_key, const char* max_key) {
  std::vector<nlohmann::json> both;
  if (min_key == nullptr || max_key == nullptr) return {};
  for (const auto& row : rows)
    if (row.is_object() && row.contains(min_key) && usable(row[min_key]) && row.contains(max_key) &&
        usable(row[max_key]))
      both.push_back(row);
  return {series(both, min_key), series(both, max_key)};
}

// TensorBoard's smoothing: an EMA started at 0 and divided by the weight it has accumulated, so the first
// points are not dragged towards 0. The weight gives an effective window of about a tenth of the run.
std::vector<Point> smoothed(const std::vector<Point>& points) {
  const double weight = std::clamp(1.0 - 10.0 / static_cast<double>(points.size()), 0.0, 0.95);
  std::vector<Point> out;
  double ema = 0, debias = 0;
  for (const auto& p : points) {
    ema = weight * ema + (1 - weight) * p.value;
    debias = weight * debias + (1 - weight);
    out.push_back({p.step, ema / debias});
  }
  return out;
}

// At most ~max_points: the lowest and highest value of each bucket of consecutive points, in step order.
std::vector<Point> thinned(const std::vector<Point>& points, size_t max_points) {
  if (points.size() <= max_points) return points;
  const size_t buckets = max_points / 2;
  std::vector<Point> out;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = b * points.size() / buckets, end = (b + 1) * points.size() / buckets;
    auto [low, high] = std::minmax_element(points.begin() + begin, points.begin() + end,
                                           [](const Point& x, const Point& y) { return x.value < y.value; });
    if (low->step > high->step) std::swap(low, high);
    out.push_back(*low);
    if (high != low) out.push_back(*high);
  }
  return out;
}

// A linear axis whose ends are whole multiples of a 1-2-5 tick step (d3's "nice"), about five ticks.
struct Axis {
  double low, high, tick;
  double pixel_low, pixel_high;

  double at(double v) const { return pixel_low + (v - low) / (high - low) * (pixel_high - pixel_low); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    const auto n = static_cast<int64_t>(std::llround((high - low) / tick));
    for (int64_t i = 0; i <= n; ++i) out.push_back(low + static_cast<double>(i) * tick);
    return out;
  }
};

Axis nice_axis(double low, double high, double pixel_low, double pixel_high) {
  if (!(high > low)) {  // one value: widen around it
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  const double tick = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
  return {std::floor(low / tick) * tick, std::ceil(high / tick) * tick, tick, pixel_low, pixel_high};
}

std::string tick_label(double v, double tick) {
  if (std::abs(v) < tick * 1e-6) return "0";  // not "-0" or "1e-17"
  char text[32];
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(tick) + 1e-9)));
  if (decimals > 4 || std::abs(v) >= 1e6)
    std::snprintf(text, sizeof text, "%.2g", v);
  else
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

std::string value_label(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters even escaped; a metric name never needs them.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

std::string text_element(double x, double y, const std::string& text, const std::string& attributes) {
  return "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" " + attributes + ">" + escape_xml(text) +
         "</text>\n";
}

std::string polyline_path(const std::vector<Point>& points, const Axis& x, const Axis& y) {
  std::string d;
  for (const auto& p : points)
    d += (d.empty() ? "M" : " L") + number(x.at(p.step)) + " " + number(y.at(p.value));
  return d;
}

std::string draw_panel(const Panel& panel, const std::vector<nlohmann::json>& rows) {
  const auto raw = series(rows, panel.key);
  const auto [band_low, band_high] = band_series(rows, panel.band_min, panel.band_max);
  const auto evals = eval_series(rows, panel.eval_metric);
  const bool has_band = !band_low.empty();

  std::string svg = text_element(kPlotLeft, 20, panel.title, "font-size=\"13\" font-weight=\"bold\"");
  if (raw.empty() && evals.empty()) {  // (eval_series keeps only keys some row has)
    svg += "<rect x=\"" + number(kPlotLeft) + "\" y=\"" + number(kPlotTop) + "\" width=\"" +
           number(kPlotRight - kPlotLeft) + "\" height=\"" + number(kPlotBottom - kPlotTop) +
           "\" fill=\"none\" stroke=\"#cccccc\"/>\n";
    svg += text_element((kPlotLeft + kPlotRight) / 2, (kPlotTop + kPlotBottom) / 2, "no data",
                        "font-size=\"12\" fill=\"#888888\" text-anchor=\"middle\"");
    return svg;
  }

  double step_low = INFINITY, step_high = -INFINITY, value_low = INFINITY, value_high = -INFINITY;
  auto extend = [&](const std::vector<Point>& points) {
    for (const auto& p : points) {
      step_low = std::min(step_low, p.step), step_high = std::max(step_high, p.step);
      value_low = std::min(value_low, p.value), value_high = std::max(value_high, p.value);
    }
  };
  extend(raw);
  for (const auto& [_, points] : evals) extend(points);
  if (has_band) extend(band_low), extend(band_high);
  if (panel.unit_interval) value_low = std::min(value_low, 0.0), value_high = std::max(value_high, 1.0);
  const Axis x = nice_axis(step_low, step_high, kPlotLeft, kPlotRight);
  const Axis y = nice_axis(value_low, value_high, kPlotBottom, kPlotTop);

  // Grid, ticks and axis labels
  for (double v : y.ticks()) {
    svg += "<line x1=\"" + number(kPlotLeft) + "\" x2=\"" + number(kPlotRight) + "\" y1=\"" +
           number(y.at(v)) + "\" y2=\"" + number(y.at(v)) + "\" stroke=\"#e6e6e6\"/>\n";
    svg += text_element(kPlotLeft - 5, y.at(v) + 3.5, tick_label(v, y.tick),
                        "font-size=\"10\" text-anchor=\"end\"");
  }
  for (double v : x.ticks()) {
    svg += "<line x1=\"" + number(x.at(v)) + "\" x2=\"" + number(x.at(v)) + "\" y1=\"" + number(kPlotBottom) +
           "\" y2=\"" + number(kPlotBottom + 4) + "\" stroke=\"#555555\"/>\n";
    svg += text_element(x.at(v), kPlotBottom + 15, tick_label(v, x.tick),
                        "font-size=\"10\" text-anchor=\"middle\"");
  }
  svg += "<path d=\"M" + number(kPlotLeft) + " " + number(kPlotTop) + " V" + number(kPlotBottom) + " H" +
         number(kPlotRight) + "\" fill=\"none\" stroke=\"#555555\"/>\n";
  svg += text_element((kPlotLeft + kPlotRight) / 2, kPlotBottom + 32, "step",
                      "font-size=\"11\" text-anchor=\"middle\"");
  const double label_x = 14, label_y = (kPlotTop + kPlotBottom) / 2;
  svg += text_element(label_x, label_y, panel.key,
                      "font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 " + number(label_x) +
                          " " + number(label_y) + ")\"");

  // Data: band, raw line, smoothed line, eval points
  const std::string color = panel.color;
  if (has_band) {
    auto low = thinned(band_low, kMaxPointsPerLine), high = thinned(band_high, kMaxPointsPerLine);
    std::reverse(low.begin(), low.end());
    svg += "<path d=\"" + polyline_path(high, x, y) + " L" + polyline_path(low, x, y).substr(1) +
           " Z\" fill=\"" + color + "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
  }
  if (!raw.empty()) {
    const bool smooth = raw.size() >= kSmoothFrom;
    svg += "<path d=\"" + polyline_path(thinned(raw, kMaxPointsPerLine), x, y) +
           "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.2\"" +
           (smooth ? " stroke-opacity=\"0.3\"" : "") + "/>\n";
    if (smooth)
      svg += "<path d=\"" + polyline_path(thinned(smoothed(raw), kMaxPointsPerLine), x, y) +
             "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
    else
      for (const auto& p : raw)
        svg += "<circle cx=\"" + number(x.at(p.step)) + "\" cy=\"" + number(y.at(p.value)) +
               "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
    char last[96];
    std::snprintf(last, sizeof last, "last %s at step %s", value_label(raw.back().value).c_str(),
                  value_label(raw.back().step).c_str());
    svg += text_element(kPlotRight, 20, last, "font-size=\"10\" fill=\"#555555\" text-anchor=\"end\"");
  }
  static const char* kEvalColors[] = {"#222222", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  for (size_t e = 0; e < evals.size(); ++e) {
    const std::string fill = kEvalColors[e % std::size(kEvalColors)];
    for (const auto& p : evals[e].second)
      svg += "<circle cx=\"" + number(x.at(p.step)) + "\" cy=\"" + number(y.at(p.value)) + "\" r=\"4\" fill=\"" +
             fill + "\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n";
    const double legend_y = kPlotTop + 10 + 13 * static_cast<double>(e);
    svg += "<circle cx=\"" + number(kPlotLeft + 10) + "\" cy=\"" + number(legend_y) + "\" r=\"4\" fill=\"" + fill +
           "\"/>\n";
    svg += text_element(kPlotLeft + 18, legend_y + 3.5, evals[e].first, "font-size=\"10\"");
  }
  return svg;
}

}  // namespace

std::string curves_svg(const std::vector<nlohmann::json>& rows, const std::string& title) {
  const int panel_rows = static_cast<int>((std::size(kPanels) + kColumns - 1) / kColumns);
  const double width = kColumns * kPanelWidth, height = kHeaderHeight + panel_rows * kPanelHeight;
  double last_step = -INFINITY;
  for (const auto& row : rows)
    if (row.is_object() && row.contains("step") && usable(row["step"]))
      last_step = std::max(last_step, row["step"].get<double>());
  const std::string progress = std::isfinite(last_step) ? "step " + value_label(last_step) : "no steps yet";

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + number(width) +
         "\" height=\"" + number(height) + "\" viewBox=\"0 0 " + number(width) + " " + number(height) +
         "\" font-family=\"Helvetica, Arial, sans-serif\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + number(width) + "\" height=\"" + number(height) +
         "\" fill=\"#ffffff\"/>\n";
  svg += text_element(16, 24, title, "font-size=\"16\" font-weight=\"bold\"");
  svg += text_element(
      16, 42, progress + " · light line: raw; solid line: smoothed (debiased EMA over ~1/10 of the run)",
      "font-size=\"11\" fill=\"#555555\"");
  for (size_t i = 0; i < std::size(kPanels); ++i) {
    const double left = static_cast<double>(i % kColumns) * kPanelWidth;
    const double top = kHeaderHeight + static_cast<double>(i / kColumns) * kPanelHeight;
    svg += "<g transform=\"translate(" + number(left) + " " + number(top) + ")\">\n";
    svg += draw_panel(kPanels[i], rows);
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

void write_curves_svg(const std::filesystem::path& file, const std::vector<nlohmann::json>& rows,
                      const std::string& title) {
  const std::string svg = curves_svg(rows, title);
  auto temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(temporary.string() + ": cannot open for writing curves.svg");
    out << svg;
    out.close();
    if (!out) throw std::runtime_error(temporary.string() + ": writing curves.svg failed");
  }
  std::error_code error;
  std::filesystem::rename(temporary, file, error);
  if (error) {
    const std::string reason = error.message();
    std::filesystem::remove(temporary, error);
    throw std::runtime_error(file.string() + ": cannot replace with " + temporary.string() + ": " + reason);
  }
}

}  // namespace aha::runlog
