// The system libyaml (libyaml-dev on Debian/Ubuntu, libyaml on Homebrew), found by pkg-config as yaml-0.1.
#include <yaml.h>
