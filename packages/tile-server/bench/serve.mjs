// Child process of tiles.bench.mjs: serves a config on a loopback port and prints the URL.
import { buildApp } from "../dist/index.js";

const app = await buildApp(process.argv[2]);
const url = await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`${url}\n`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
