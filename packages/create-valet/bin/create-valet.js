#!/usr/bin/env node
// `npm create valet@latest my-app`: the same app `valet init` makes (same flags, same questions on
// a terminal), from a small package: the program is bundled into dist/, templates/ beside it.
import '../dist/create-valet.js';
