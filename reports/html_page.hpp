// html_page.hpp: the page shell shared by the HTML reports (pre-flight and sweep): one document with
// inline CSS, a Content-Security-Policy that forbids scripts and every fetch (so the file works
// offline and cannot leak), print styles, and a figure wrapper for the SVG plots.
#pragma once

#include <string>

namespace hrm {

std::string html_page(const std::string& title, const std::string& body);  // body: trusted HTML
std::string html_figure(const std::string& heading, const std::string& svg, const std::string& caption);
std::string html_verdict_badge(const std::string& verdict);                 // "✓ VETTED" / "✗ REJECTED"

}  // namespace hrm
