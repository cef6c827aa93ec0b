// svg_plot.hpp: a small SVG plotting helper for the HTML reports: line, step and stem plots
// with axes, ticks, axis labels, legends, reference lines, shaded bands and markers; horizontal
// stacked bars. The output is one inline <svg> element: no scripts, no fetched fonts, well-formed XML
// (every text is escaped), sized in CSS pixels so a page can lay plots out predictably.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace hrm::svg {

// Okabe-Ito palette: stays distinguishable under the common colour-vision deficiencies.
inline constexpr const char* kBlue = "#0072B2";
inline constexpr const char* kOrange = "#E69F00";
inline constexpr const char* kSky = "#56B4E9";
inline constexpr const char* kGreen = "#009E73";
inline constexpr const char* kVermillion = "#D55E00";
inline constexpr const char* kPurple = "#CC79A7";
inline constexpr const char* kYellow = "#F0E442";
inline constexpr const char* kGray = "#666666";
inline constexpr const char* kInk = "#222222";
const char* series_color(std::size_t i);  // the palette in a fixed order, for series without a colour

std::string escape(std::string_view text);  // & < > " ' as XML entities
std::string tick_label(double v);           // 0.0001 -> "1e-4", 1536 -> "1,536", 26000 -> "26k", 2.5e6 -> "2.5M"

inline constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();

struct Axis {
  std::string label;      // with its unit, e.g. "optimizer step" or "memory (GiB)"
  bool log = false;       // log10 scale; values <= 0 are left out
  double min = kAuto;     // kAuto: from the data (linear axes start at 0 when the data is >= 0)
  double max = kAuto;
  bool hidden = false;    // no ticks, no label (the y axis of a number line)
  std::vector<double> ticks;  // explicit tick positions (e.g. the swept values); empty: automatic
};

enum class Style { Line, Step, Stems };  // Step: y[i] holds until x[i+1]; Stems: a bar from 0 at each point

struct Series {
  std::string label;      // legend entry; empty: not in the legend
  std::vector<double> x, y;
  const char* color = nullptr;  // nullptr: series_color(index)
  Style style = Style::Line;
  bool dashed = false;
};

// A vertical (plot.vlines, at x) or horizontal (plot.hlines, at y) reference line with a label.
// Vertical labels sit above the plot area, one row each, so close lines never overlap.
struct RefLine {
  double at = 0;
  std::string label;
  const char* color = kGray;
  bool dashed = true;
};

struct Band {             // a shaded x range with a label at its top
  double from = 0, to = 0;
  std::string label;
  const char* fill = kSky;
};

struct Marker {           // a point with an optional label to its right
  double x = 0, y = 0;
  std::string label;
  const char* color = kInk;
  bool hollow = false;
  double radius = 5;
};

struct Plot {
  std::string id;         // element id: unique in the page (the tests find each plot by it)
  std::string title;      // accessible name (<title>); the page shows its own caption
  Axis x, y;
  std::vector<Band> bands;
  std::vector<Series> series;
  std::vector<RefLine> vlines, hlines;
  std::vector<Marker> markers;
  std::string empty_note; // drawn in the plot area when no series has data
  int width = 520, height = 280;
};

std::string render(const Plot& p);

struct BarSegment {
  std::string label;      // legend entry (include the value: small segments are hard to read)
  double value = 0;
  const char* color = nullptr;  // nullptr: series_color(index)
};

struct BarRow {
  std::string label;
  std::vector<BarSegment> segments;  // stacked left to right
};

struct Bars {             // horizontal stacked bars, one per row, sharing the legend of the first row
  std::string id, title;
  Axis x;
  std::vector<BarRow> rows;
  std::vector<RefLine> vlines;
  std::string note;       // a line of text above the bars, right-aligned (e.g. a limit that is off scale)
  int width = 520;        // the height follows from the rows and the legend
};

std::string render(const Bars& b);

}  // namespace hrm::svg
