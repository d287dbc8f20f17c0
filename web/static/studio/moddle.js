// The moddle descriptor of the project's extension properties (spiffworkflow:properties / property), so the modeler
// reads, edits and writes them back unchanged (bpmn/README.md lists the properties and what they mean).
window.SPIFF_MODDLE = {
  name: 'SpiffWorkflow',
  uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
  prefix: 'spiffworkflow',
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    { name: 'Properties', superClass: ['Element'],
      properties: [{ name: 'properties', type: 'Property', isMany: true }] },
    { name: 'Property', superClass: ['Element'],
      properties: [{ name: 'name', type: 'String', isAttr: true }, { name: 'value', type: 'String', isAttr: true }] },
  ],
};
