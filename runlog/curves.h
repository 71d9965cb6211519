// runs/<name>/curves.svg: the R1-Zero picture (DeepSeek-R1 paper, figs. 2 and 3: accuracy and response
// length rising over RL steps) drawn from the rows of metrics.jsonl, refreshed as training goes.
//
// A 3 × 2 grid of panels, one metric each, against step:
//   reward · accuracy (+ every eval/<name>/pass@1 as points) · response length (+ min..max band) · KL · entropy · format rate
// Each panel shows the raw values as a light line and, from 10 points on, TensorBoard's debiased EMA as a
// solid line; a metric with no finite value says "no data". Plain SVG 1.1 (no scripts, no CSS, no fonts to
// fetch) so any browser or image viewer shows it.
// Deliberately differs from TensorBoard: the EMA weight follows the run length (about a tenth of the steps)
// instead of a slider, and a long run is thinned to ~1,000 points per line (min and max of each bucket, so
// spikes survive) to keep the file small when it is rewritten every step.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace aha::runlog {

// The SVG document. rows: metric objects with a numeric "step"; rows without one are skipped, as are
// non-numeric, NaN and infinite values (a NaN loss must not blank the picture). title: escaped for XML.
std::string curves_svg(const std::vector<nlohmann::json>& rows, const std::string& title);

// Writes curves_svg to file atomically (file.tmp, then rename), so a viewer never sees half a document.
// Throws std::runtime_error naming the file.
void write_curves_svg(const std::filesystem::path& file, const std::vector<nlohmann::json>& rows,
                      const std::string& title);

}  // namespace aha::runlog
