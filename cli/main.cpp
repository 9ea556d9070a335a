#include "cli/app.hpp"

int main(int argc, char** argv) { return rapport::cli::run(argc, argv); }
