import * as adapter from "session-manager/hono";
import { createHonoApp } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

runSharedSuite({ name: "hono", createApp: createHonoApp, hasBodyParser: false, handlers: adapter });
