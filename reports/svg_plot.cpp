// svg_plot.cpp: scales and ticks, then the SVG text of plots and bar charts. Layout is computed in
// pixels here (no CSS dependence) so a plot looks the same inline, standalone and in print.
#include "reports/svg_plot.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "reports/render.hpp"

namespace hrm::svg {

namespace {

constexpr double kCharWidth = 7.0;  // average advance of the 12 px sans-serif used for labels, rounded up
constexpr int kRow = 15;            // height of one row of labels above the plot area

struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double px0 = 0, px1 = 1;  // pixel positions of lo and hi
  std::vector<double> ticks;

  bool valid(double v) const { return std::isfinite(v) && (!log || v > 0); }
  double operator()(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
    return px0 + t * (px1 - px0);
  }
  double clamp(double v) const { return std::clamp(v, lo, hi); }
};

double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

// Linear axes round their ends out to ticks and start at 0 when the data is non-negative, so bars
// and counts are read against zero; log axes round out to whole decades.
Scale make_scale(const Axis& a, std::vector<double> values, double px0, double px1) {
  Scale s;
  s.log = a.log;
  s.px0 = px0;
  s.px1 = px1;
  std::erase_if(values, [&](double v) { return !s.valid(v); });
  double lo = values.empty() ? (a.log ? 1.0 : 0.0) : *std::min_element(values.begin(), values.end());
  double hi = values.empty() ? (a.log ? 10.0 : 1.0) : *std::max_element(values.begin(), values.end());
  if (a.log) {
    lo = std::isfinite(a.min) ? a.min : std::pow(10.0, std::floor(std::log10(lo)));
    hi = std::isfinite(a.max) ? a.max : std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10.0;
    const bool fine = std::log10(hi / lo) <= 2.01;  // few decades: 2x and 5x ticks too
    for (double d = std::pow(10.0, std::floor(std::log10(lo))); d <= hi * (1 + 1e-9); d *= 10.0)
      for (double m : {1.0, 2.0, 5.0})
        if ((m == 1.0 || fine) && d * m >= lo * (1 - 1e-9) && d * m <= hi * (1 + 1e-9)) s.ticks.push_back(d * m);
  } else {
    if (lo >= 0 && !std::isfinite(a.min)) lo = 0;
    if (std::isfinite(a.min)) lo = a.min;
    if (std::isfinite(a.max)) hi = a.max;
    if (hi <= lo) hi = lo + (lo == 0 ? 1.0 : std::abs(lo) * 0.1);
    const double step = nice_step((hi - lo) / 5.0);
    if (!std::isfinite(a.min)) lo = std::floor(lo / step + 1e-9) * step;
    if (!std::isfinite(a.max)) hi = std::ceil(hi / step - 1e-9) * step;
    for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1.0) s.ticks.push_back(k * step);
  }
  s.lo = lo;
  s.hi = hi;
  if (!a.ticks.empty()) {
    s.ticks.clear();
    for (double t : a.ticks)
      if (s.valid(t) && t >= lo && t <= hi) s.ticks.push_back(t);
  }
  return s;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

// A label with a white halo so it stays readable where it crosses lines.
std::string text(double x, double y, const std::string& s, const char* anchor = "start", const char* fill = kInk,
                 const char* extra = "") {
  return fmt::format(R"(<text x="{}" y="{}" text-anchor="{}" fill="{}" stroke="#ffffff" stroke-width="3" )"
                     R"(paint-order="stroke"{}>{}</text>)",
                     num(x), num(y), anchor, fill, extra, escape(s));
}

std::string dash_attr(bool dashed) { return dashed ? R"( stroke-dasharray="6 4")" : ""; }

// At most two points (the lowest and highest) per pixel column, in their original order: a dense
// series keeps its envelope while the SVG stays small.
void thin(const Scale& sx, std::vector<double>& x, std::vector<double>& y) {
  const double columns = std::abs(sx.px1 - sx.px0);
  if (static_cast<double>(x.size()) <= 3.0 * columns) return;
  std::vector<double> ox, oy;
  std::size_t i = 0;
  while (i < x.size()) {
    const long col = std::lround(sx.valid(x[i]) ? sx(x[i]) : 0.0);
    std::size_t j = i, lo = i, hi = i;
    while (j < x.size() && std::lround(sx.valid(x[j]) ? sx(x[j]) : 0.0) == col) {
      if (y[j] < y[lo]) lo = j;
      if (y[j] > y[hi]) hi = j;
      ++j;
    }
    for (std::size_t k : {std::min(lo, hi), std::max(lo, hi)}) {
      ox.push_back(x[k]);
      oy.push_back(y[k]);
      if (lo == hi) break;
    }
    i = j;
  }
  x = std::move(ox);
  y = std::move(oy);
}

std::string series_path(const Series& s, const Scale& sx, const Scale& sy) {
  std::vector<double> x = s.x, y = s.y;
  if (s.style == Style::Line || s.style == Style::Step) thin(sx, x, y);
  std::string d;
  bool pen_down = false;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!sx.valid(x[i]) || !sy.valid(y[i])) { pen_down = false; continue; }
    const double px = sx(x[i]), py = sy(y[i]);
    if (s.style == Style::Stems) {
      d += fmt::format("M{} {}V{}", num(px), num(sy(sy.clamp(sy.log ? sy.lo : 0.0))), num(py));
    } else if (s.style == Style::Step && pen_down) {
      d += fmt::format("H{}V{}", num(px), num(py));
    } else {
      d += fmt::format("{}{} {}", pen_down ? "L" : "M", num(px), num(py));
      pen_down = true;
    }
  }
  return d;
}

struct LegendItem {
  std::string label;
  const char* color;
  Style style;
  bool dashed;
};

double legend_width(const LegendItem& it) { return 26 + kCharWidth * static_cast<double>(it.label.size()) + 14; }

int legend_rows(const std::vector<LegendItem>& items, double x0, double x1) {
  if (items.empty()) return 0;
  int rows = 1;
  double x = x0;
  for (const auto& it : items) {
    if (x > x0 && x + legend_width(it) > x1) { ++rows; x = x0; }
    x += legend_width(it);
  }
  return rows;
}

std::string legend(const std::vector<LegendItem>& items, double x0, double x1, double y0) {
  std::string out;
  double x = x0, y = y0;
  for (const auto& it : items) {
    if (x > x0 && x + legend_width(it) > x1) { x = x0; y += kRow + 3; }
    out += fmt::format(R"(<path d="M{} {}H{}" stroke="{}" stroke-width="{}"{}/>)", num(x), num(y - 4), num(x + 18), it.color,
                       it.style == Style::Stems ? 6 : 2.5, dash_attr(it.dashed));
    out += text(x + 24, y, it.label);
    x += legend_width(it);
  }
  return out;
}

std::string svg_open(const std::string& id, const std::string& title, int w, int h) {
  return fmt::format(R"(<svg id="{}" class="plot" viewBox="0 0 {} {}" width="{}" height="{}" role="img" )"
                     R"(font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="12">)"
                     R"(<title>{}</title><rect width="{}" height="{}" fill="#ffffff"/>)",
                     escape(id), w, h, w, h, escape(title), w, h);
}

std::string x_ticks(const Scale& sx, double y_axis, bool grid, double y_top) {
  std::string out;
  for (double t : sx.ticks) {
    const double px = sx(t);
    if (grid) out += fmt::format(R"(<path d="M{} {}V{}" stroke="#e6e6e6"/>)", num(px), num(y_top), num(y_axis));
    out += fmt::format(R"(<path d="M{} {}v5" stroke="#888888"/>)", num(px), num(y_axis));
    out += text(px, y_axis + 18, tick_label(t), "middle", "#444444");
  }
  return out;
}

}  // namespace

const char* series_color(std::size_t i) {
  static constexpr const char* kOrder[] = {kBlue, kOrange, kGreen, kVermillion, kPurple, kSky, kInk, kYellow};
  return kOrder[i % (sizeof kOrder / sizeof kOrder[0])];
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.3g}k", v / 1e3);
  if (a >= 1 && v == std::round(v)) return format_count(v);  // "1,536": swept batch sizes read exactly
  if (a >= 0.01) return fmt::format("{:.3g}", v);
  int e = static_cast<int>(std::floor(std::log10(a)));  // small LRs: "7e-5", "2.5e-5"
  double m = v / std::pow(10.0, e);
  if (std::abs(m) >= 9.95) { m /= 10; ++e; }
  return fmt::format("{:.2g}e{}", m, e);
}

std::string render(const Plot& p) {
  const double W = p.width, H = p.height;
  std::vector<LegendItem> items;
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    if (!s.label.empty()) items.push_back({s.label, s.color ? s.color : series_color(i), s.style, s.dashed});
  }
  const double left = p.y.hidden ? 16 : 64, right = W - 18;
  const int n_vlabels = static_cast<int>(std::count_if(p.vlines.begin(), p.vlines.end(), [](const RefLine& v) { return !v.label.empty(); }));
  const int n_legend = legend_rows(items, left, right);
  const double top = 10 + n_legend * (kRow + 3) + n_vlabels * kRow + (n_vlabels ? 4 : 0);
  const double bottom = H - (p.x.label.empty() ? 28 : 44);

  std::vector<double> xs, ys;
  for (const auto& s : p.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  for (const auto& v : p.vlines) xs.push_back(v.at);
  for (const auto& h : p.hlines) ys.push_back(h.at);
  for (const auto& m : p.markers) { xs.push_back(m.x); ys.push_back(m.y); }
  const bool has_data = std::any_of(p.series.begin(), p.series.end(), [](const Series& s) { return !s.x.empty(); }) || !p.markers.empty();
  const Scale sx = make_scale(p.x, xs, left, right);
  const Scale sy = make_scale(p.y, ys, bottom, top);

  std::string out = svg_open(p.id, p.title, p.width, p.height);
  out += legend(items, left, right, 10 + kRow - 3);
  for (const auto& b : p.bands) {
    const double x0 = sx(sx.clamp(std::max(b.from, sx.lo))), x1 = sx(sx.clamp(std::min(b.to, sx.hi)));
    if (x1 <= x0) continue;
    out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.16"/>)", num(x0), num(top),
                       num(x1 - x0), num(bottom - top), b.fill);
    if (kCharWidth * static_cast<double>(b.label.size()) < x1 - x0) out += text((x0 + x1) / 2, bottom - 8, b.label, "middle", "#333333");
  }
  if (!p.y.hidden) {
    for (double t : sy.ticks) {
      const double py = sy(t);
      out += fmt::format(R"(<path d="M{} {}H{}" stroke="#e6e6e6"/>)", num(left), num(py), num(right));
      out += text(left - 6, py + 4, tick_label(t), "end", "#444444");
    }
    out += fmt::format(R"svg(<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="{}">{}</text>)svg",
                       num((top + bottom) / 2), kInk, escape(p.y.label));
  }
  if (!p.x.hidden) out += x_ticks(sx, bottom, p.y.hidden, top);
  out += fmt::format(R"(<path d="M{} {}H{}" stroke="#888888"/>)", num(left), num(bottom), num(right));
  if (!p.y.hidden) out += fmt::format(R"(<path d="M{} {}V{}" stroke="#888888"/>)", num(left), num(top), num(bottom));
  if (!p.x.label.empty()) out += text((left + right) / 2, H - 8, p.x.label, "middle");

  out += fmt::format(R"(<clipPath id="{}-clip"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>)", escape(p.id),
                     num(left - 6), num(top - 6), num(right - left + 12), num(bottom - top + 12));
  out += fmt::format(R"svg(<g id="{}-data" clip-path="url(#{}-clip)" fill="none">)svg", escape(p.id), escape(p.id));
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* color = s.color ? s.color : series_color(i);
    const std::string d = series_path(s, sx, sy);
    if (!d.empty())
      out += fmt::format(R"(<path d="{}" stroke="{}" stroke-width="{}" stroke-linejoin="round"{}/>)", d, color,
                         s.style == Style::Stems ? 3 : 2.2, dash_attr(s.dashed));
  }
  out += "</g>";
  for (const auto& h : p.hlines) {
    if (!sy.valid(h.at)) continue;
    const double py = sy(h.at);
    out += fmt::format(R"(<path d="M{} {}H{}" stroke="{}" stroke-width="1.5"{}/>)", num(left), num(py), num(right), h.color,
                       dash_attr(h.dashed));
    out += text(right - 4, py - 5, h.label, "end", h.color == kGray ? kInk : h.color);
  }
  int row = 0;
  for (const auto& v : p.vlines) {
    if (!sx.valid(v.at)) continue;
    const double px = sx(v.at);
    const double ly = v.label.empty() ? top : top - 6 - (n_vlabels - 1 - row) * kRow;
    out += fmt::format(R"(<path d="M{} {}V{}" stroke="{}" stroke-width="1.5"{}/>)", num(px), num(bottom), num(ly - 10), v.color,
                       dash_attr(v.dashed));
    if (!v.label.empty()) {
      const bool flip = px > left + 0.6 * (right - left);
      out += text(px + (flip ? -4 : 4), ly, v.label, flip ? "end" : "start", v.color == kGray ? kInk : v.color);
      ++row;
    }
  }
  for (const auto& m : p.markers) {
    if (!sx.valid(m.x) || !sy.valid(m.y)) continue;
    const double px = sx(m.x), py = sy(m.y);
    out += fmt::format(R"(<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="{}" stroke-width="2"/>)", num(px), num(py), m.radius,
                       m.hollow ? "#ffffff" : m.color, m.color);
    if (!m.label.empty()) out += text(px + m.radius + 4, py + 4, m.label);
  }
  if (!has_data && !p.empty_note.empty()) out += text((left + right) / 2, (top + bottom) / 2, p.empty_note, "middle", kGray);
  return out + "</svg>";
}

std::string render(const Bars& b) {
  std::size_t label_chars = 0;
  for (const auto& r : b.rows) label_chars = std::max(label_chars, r.label.size());
  const double W = b.width, left = 16 + kCharWidth * static_cast<double>(label_chars), right = W - 18;
  std::vector<LegendItem> items;
  if (!b.rows.empty())
    for (std::size_t i = 0; i < b.rows[0].segments.size(); ++i) {
      const auto& s = b.rows[0].segments[i];
      items.push_back({s.label, s.color ? s.color : series_color(i), Style::Stems, false});
    }
  const int n_vlabels = static_cast<int>(std::count_if(b.vlines.begin(), b.vlines.end(), [](const RefLine& v) { return !v.label.empty(); }));
  const int n_rows_above = n_vlabels + (b.note.empty() ? 0 : 1);
  const double top = 10 + n_rows_above * kRow + (n_rows_above ? 4 : 0);
  constexpr double kBar = 30, kGap = 14;
  const double bottom = top + static_cast<double>(b.rows.size()) * (kBar + kGap) + kGap;
  const double legend_top = bottom + (b.x.label.empty() ? 30 : 48);
  const int H = static_cast<int>(legend_top + legend_rows(items, 16, right) * (kRow + 3) + 8);

  std::vector<double> xs;
  for (const auto& r : b.rows) {
    double sum = 0;
    for (const auto& s : r.segments) sum += s.value;
    xs.push_back(sum);
  }
  for (const auto& v : b.vlines) xs.push_back(v.at);
  const Scale sx = make_scale(b.x, xs, left, right);

  std::string out = svg_open(b.id, b.title, b.width, H);
  out += x_ticks(sx, bottom, true, top);
  out += fmt::format(R"(<g id="{}-data">)", escape(b.id));
  for (std::size_t r = 0; r < b.rows.size(); ++r) {
    const double y = top + kGap + static_cast<double>(r) * (kBar + kGap);
    out += text(left - 8, y + kBar / 2 + 4, b.rows[r].label, "end");
    double acc = 0;
    for (std::size_t i = 0; i < b.rows[r].segments.size(); ++i) {
      const auto& s = b.rows[r].segments[i];
      const double x0 = sx(acc), x1 = sx(acc + s.value);
      acc += s.value;
      if (x1 - x0 <= 0) continue;
      out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#ffffff" stroke-width="0.5"/>)",
                         num(x0), num(y), num(x1 - x0), kBar, s.color ? s.color : series_color(i));
    }
  }
  out += "</g>";
  out += fmt::format(R"(<path d="M{} {}H{}M{} {}V{}" stroke="#888888"/>)", num(left), num(bottom), num(right), num(left), num(top),
                     num(bottom));
  int row = 0;
  for (const auto& v : b.vlines) {
    const double px = sx(v.at), ly = top - 6 - (n_vlabels - 1 - row) * kRow;
    out += fmt::format(R"(<path d="M{} {}V{}" stroke="{}" stroke-width="2"{}/>)", num(px), num(bottom), num(ly - 10), v.color,
                       dash_attr(v.dashed));
    if (!v.label.empty()) {
      const bool flip = px > left + 0.6 * (right - left);
      out += text(px + (flip ? -4 : 4), ly, v.label, flip ? "end" : "start", v.color == kGray ? kInk : v.color);
      ++row;
    }
  }
  if (!b.note.empty()) out += text(right, top - 6 - n_vlabels * kRow, b.note, "end");
  if (!b.x.label.empty()) out += text((left + right) / 2, bottom + 40, b.x.label, "middle");
  out += legend(items, 16, right, legend_top + kRow - 3);
  return out + "</svg>";
}

}  // namespace hrm::svg
