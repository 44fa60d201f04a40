import { toJsonSchema } from '@valibot/to-json-schema';
import { GatewayConfigSchema } from './schema.js';

/** The JSON Schema of the config file, for editors (yaml-language-server) and other tools. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = toJsonSchema(GatewayConfigSchema, { errorMode: 'ignore', typeMode: 'input' }) as Record<string, unknown>;
  return {
    $schema: schema['$schema'],
    title: 'machine-gateway configuration',
    ...schema,
  };
}
