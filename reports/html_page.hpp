// html_page.hpp: the page shell shared by the HTML reports (pre-flight and sweep): one document with
// inline CSS, a Content-Security-Policy that forbids scripts and every fetch (so the file works
// offline and cannot leak), print styles, and a figure wrapper for the SVG plots.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hrm {

// Plot widths in pixels: the page's content width, and half of it (two plots side by side).
inline constexpr int kPageWidth = 1064, kPageHalfWidth = 520;

std::string html_page(const std::string& title, const std::string& body);  // body: trusted HTML
std::string html_figure(const std::string& heading, const std::string& svg, const std::string& caption);
std::string html_verdict_badge(const std::string& verdict);                 // "✓ VETTED" / "✗ REJECTED"
// A summary card: small key, big value, a line under it (all escaped).
std::string html_card(const std::string& key, const std::string& value, const std::string& sub);
// A table of escaped cells; columns from numeric_from on are right-aligned numbers.
std::string html_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                       std::size_t numeric_from);

}  // namespace hrm
