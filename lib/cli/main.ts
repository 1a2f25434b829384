#!/usr/bin/env node
/**
 * The `bgworker` bin: runs cli.ts with the real process (its argv, stdout, stderr and
 * signals) and leaves with the status it returns, letting the event loop drain first.
 */
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signals: process });
