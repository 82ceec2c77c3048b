import { createHonoApp } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

runSharedSuite({ name: "hono", createApp: createHonoApp, hasBodyParser: false });
