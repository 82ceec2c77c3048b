import * as adapter from "session-manager/koa";
import { createKoaApp } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

runSharedSuite({ name: "koa", createApp: createKoaApp, hasBodyParser: true, handlers: adapter });
