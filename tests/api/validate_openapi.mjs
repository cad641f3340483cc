// Validates an OpenAPI document against the OpenAPI 3 schema and resolves
// every $ref (@apidevtools/swagger-parser). Prints "ok <paths>" or the
// validator's message and exits 1.
//   node tests/api/validate_openapi.mjs static/openapi.json
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
try {
	const api = await SwaggerParser.validate(file);
	console.log(`ok ${Object.keys(api.paths).length} paths, openapi ${api.openapi}`);
} catch (e) {
	console.log(`invalid: ${e.message}`);
	process.exit(1);
}
