#pragma once

#include <boost/filesystem.hpp>

namespace nixsnap {
namespace fs = boost::filesystem;
}  // namespace nixsnap
