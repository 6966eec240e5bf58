/** A rule of the request schemas: `then` applies to objects whose `type` is `type` (tools, tool choices, items, blocks). */
export const when = (type: string | null, then: object) => ({ if: { properties: { type: { const: type } }, required: ['type'] }, then });
