import { createKoaApp } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

runSharedSuite({ name: "koa", createApp: createKoaApp, hasBodyParser: true });
