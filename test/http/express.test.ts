import * as adapter from "session-manager/express";
import { createExpressApp } from "./apps.js";
import { runSharedSuite } from "./shared-suite.js";

runSharedSuite({ name: "express", createApp: createExpressApp, hasBodyParser: true, handlers: adapter });
