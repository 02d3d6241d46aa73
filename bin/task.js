#!/usr/bin/env node
import { main } from '../dist/cli.bundle.js';

await main();
