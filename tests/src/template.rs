//! Reads `infra/template.yaml`: the single definition of the table, the queues and the functions'
//! environment. The local stack is built from it, so local and deployed resources cannot drift.

use std::{collections::BTreeMap, path::PathBuf};

use serde_yaml_ng::Value;

/// The parsed SAM template.
#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

/// An attribute of a key schema: name and `HASH`/`RANGE`.
pub type KeyElement = (String, String);

/// The state table as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// Attribute name and type (`S`, `N`, `B`).
    pub attributes: Vec<(String, String)>,
    /// The table's key schema.
    pub key_schema: Vec<KeyElement>,
    /// Global secondary indexes: name and key schema (projection ALL).
    pub indexes: Vec<(String, Vec<KeyElement>)>,
    /// The TTL attribute, if TTL is enabled.
    pub ttl_attribute: Option<String>,
}

/// A queue as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDefinition {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// SQS attributes other than the redrive policy, as SQS names them.
    pub attributes: BTreeMap<String, String>,
    /// Dead-letter queue's logical id and the receive count that moves a message there.
    pub dead_letter: Option<(String, u32)>,
}

/// A value of the functions' environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A literal.
    Literal(String),
    /// `!Ref` of a resource or parameter.
    Ref(String),
    /// `!If [condition, then, else]`.
    If(String, Box<EnvValue>, Box<EnvValue>),
}

impl Template {
    /// The repository's `infra/template.yaml`.
    pub fn path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }

    /// Loads and parses the repository's template.
    pub fn load() -> Result<Self, String> {
        let path = Self::path();
        let text =
            std::fs::read_to_string(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let root = serde_yaml_ng::from_str(text).map_err(|err| format!("template is not YAML: {err}"))?;
        Ok(Self { root })
    }

    /// The root of the document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// `(logical id, properties)` of every resource of `resource_type`, in template order.
    pub fn resources_of_type(&self, resource_type: &str) -> Vec<(String, &Value)> {
        let Some(resources) = self.root.get("Resources").and_then(Value::as_mapping) else {
            return Vec::new();
        };
        resources
            .iter()
            .filter(|(_, resource)| resource.get("Type").and_then(Value::as_str) == Some(resource_type))
            .filter_map(|(id, resource)| Some((id.as_str()?.to_owned(), resource.get("Properties")?)))
            .collect()
    }

    /// The type of the resource `logical_id`, if there is one.
    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.root.get("Resources")?.get(logical_id)?.get("Type")?.as_str()
    }

    /// The default of parameter `name`.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        scalar(self.root.get("Parameters")?.get(name)?.get("Default")?)
    }

    /// The one DynamoDB table.
    pub fn table(&self) -> Result<TableDefinition, String> {
        let tables = self.resources_of_type("AWS::DynamoDB::Table");
        let [(logical_id, props)] = tables.as_slice() else {
            return Err(format!(
                "expected exactly one AWS::DynamoDB::Table, found {}",
                tables.len()
            ));
        };
        let attributes = list(props, "AttributeDefinitions")
            .iter()
            .map(|a| Ok((field(a, "AttributeName")?, field(a, "AttributeType")?)))
            .collect::<Result<_, String>>()?;
        let table_key_schema = key_schema(props)?;
        let indexes = list(props, "GlobalSecondaryIndexes")
            .iter()
            .map(|index| Ok((field(index, "IndexName")?, key_schema(index)?)))
            .collect::<Result<_, String>>()?;
        let ttl = props.get("TimeToLiveSpecification");
        let ttl_attribute = ttl
            .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
            .and_then(|t| t.get("AttributeName"))
            .and_then(scalar);
        Ok(TableDefinition {
            logical_id: logical_id.clone(),
            attributes,
            key_schema: table_key_schema,
            indexes,
            ttl_attribute,
        })
    }

    /// Every SQS queue, dead-letter queues included.
    pub fn queues(&self) -> Result<Vec<QueueDefinition>, String> {
        let names = [
            ("VisibilityTimeout", "VisibilityTimeout"),
            ("MessageRetentionPeriod", "MessageRetentionPeriod"),
            ("DelaySeconds", "DelaySeconds"),
        ];
        self.resources_of_type("AWS::SQS::Queue")
            .into_iter()
            .map(|(logical_id, props)| {
                let attributes = names
                    .iter()
                    .filter_map(|(cfn, sqs)| Some(((*sqs).to_owned(), scalar(props.get(*cfn)?)?)))
                    .collect();
                let dead_letter = match props.get("RedrivePolicy") {
                    None => None,
                    Some(policy) => {
                        let target = policy
                            .get("deadLetterTargetArn")
                            .and_then(get_att_resource)
                            .ok_or_else(|| {
                                format!("{logical_id}: RedrivePolicy needs !GetAtt <Queue>.Arn")
                            })?;
                        let count = policy
                            .get("maxReceiveCount")
                            .and_then(scalar)
                            .and_then(|c| c.parse().ok())
                            .ok_or_else(|| format!("{logical_id}: RedrivePolicy needs maxReceiveCount"))?;
                        Some((target, count))
                    }
                };
                Ok(QueueDefinition {
                    logical_id,
                    attributes,
                    dead_letter,
                })
            })
            .collect()
    }

    /// Each function's environment by its binary (`Metadata.BuildProperties.Binary`): the
    /// globals' variables with the function's own over them, as Lambda gives them.
    pub fn function_environments(&self) -> Result<BTreeMap<String, BTreeMap<String, EnvValue>>, String> {
        let globals = variables(self.root.get("Globals").and_then(|g| g.get("Function")))?;
        let Some(resources) = self.root.get("Resources").and_then(Value::as_mapping) else {
            return Ok(BTreeMap::new());
        };
        resources
            .iter()
            .filter(|(_, resource)| {
                resource.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
            })
            .map(|(id, resource)| {
                let id = id.as_str().unwrap_or_default();
                let binary = resource
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(scalar)
                    .ok_or_else(|| format!("{id} has no Metadata.BuildProperties.Binary"))?;
                let mut environment = globals.clone();
                environment.extend(variables(resource.get("Properties"))?);
                Ok((binary, environment))
            })
            .collect()
    }

    /// Whether the template's condition `name` holds for `parameters` (their defaults filling in).
    /// The local stack evaluates `!Equals` of `!Ref`s and literals, and `!Not`.
    pub fn condition_holds(&self, name: &str, parameters: &BTreeMap<String, String>) -> Result<bool, String> {
        let condition = self
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| format!("no condition {name}"))?;
        self.holds(condition, parameters)
    }

    fn holds(&self, condition: &Value, parameters: &BTreeMap<String, String>) -> Result<bool, String> {
        let Value::Tagged(tagged) = condition else {
            return Err(format!("condition {condition:?} is not a function"));
        };
        let arguments = tagged.value.as_sequence().map_or(&[][..], Vec::as_slice);
        match (tagged.tag.to_string().trim_start_matches('!'), arguments) {
            ("Equals", [left, right]) => {
                Ok(self.operand(left, parameters)? == self.operand(right, parameters)?)
            }
            ("Not", [inner]) => Ok(!self.holds(inner, parameters)?),
            _ => Err(format!(
                "condition {condition:?} is not one the local stack evaluates"
            )),
        }
    }

    fn operand(&self, value: &Value, parameters: &BTreeMap<String, String>) -> Result<String, String> {
        match value {
            Value::Tagged(tagged) if tagged.tag == "Ref" => {
                let name = scalar(&tagged.value).unwrap_or_default();
                parameters
                    .get(&name)
                    .cloned()
                    .or_else(|| self.parameter_default(&name))
                    .ok_or_else(|| format!("condition operand {name} is not a parameter with a value"))
            }
            other => scalar(other).ok_or_else(|| format!("condition operand {other:?} is not a literal")),
        }
    }
}

/// `Environment.Variables` under `holder` (a function's properties, or the globals').
fn variables(holder: Option<&Value>) -> Result<BTreeMap<String, EnvValue>, String> {
    let Some(variables) = holder
        .and_then(|h| h.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
    else {
        return Ok(BTreeMap::new());
    };
    variables
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().unwrap_or_default().to_owned();
            let value = env_value(value).ok_or_else(|| {
                format!("variable {name}: {value:?} is not a value the local stack resolves")
            })?;
            Ok((name, value))
        })
        .collect()
}

fn env_value(value: &Value) -> Option<EnvValue> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => Some(EnvValue::Ref(scalar(&tagged.value)?)),
        Value::Tagged(tagged) if tagged.tag == "If" => {
            let [condition, then, otherwise] = tagged.value.as_sequence()?.as_slice() else {
                return None;
            };
            Some(EnvValue::If(
                scalar(condition)?,
                Box::new(env_value(then)?),
                Box::new(env_value(otherwise)?),
            ))
        }
        other => Some(EnvValue::Literal(scalar(other)?)),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn field(value: &Value, name: &str) -> Result<String, String> {
    value
        .get(name)
        .and_then(scalar)
        .ok_or_else(|| format!("missing {name}"))
}

fn list<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    value
        .get(name)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

fn key_schema(value: &Value) -> Result<Vec<KeyElement>, String> {
    list(value, "KeySchema")
        .iter()
        .map(|k| Ok((field(k, "AttributeName")?, field(k, "KeyType")?)))
        .collect()
}

/// `!GetAtt Name.Arn` -> `Name`.
fn get_att_resource(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            let target = scalar(&tagged.value)?;
            target.strip_suffix(".Arn").map(str::to_owned)
        }
        _ => None,
    }
}
