import { Type } from 'class-transformer';
import { IsArray, IsObject, ValidateNested } from 'class-validator';

type Section = () => new () => object;

const MAPPING = { message: '$property must be a mapping' };
const LIST_OF_MAPPINGS = { each: true, message: 'each item of $property must be a mapping' };

/**
 * A nested section validated as `type`. ValidateNested alone takes a list in its place
 * (checking each item, none when empty) and the code reading the section then crashes, so
 * anything but a mapping is refused here, naming the key.
 */
export function Nested(type: Section): PropertyDecorator {
  return (target, key) => {
    IsObject(MAPPING)(target, key);
    ValidateNested(MAPPING)(target, key);
    Type(type)(target, key);
  };
}

/** A list of sections validated as `type`; an item that is a list is refused as well (see Nested). */
export function NestedList(type: Section): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    IsObject(LIST_OF_MAPPINGS)(target, key);
    ValidateNested(LIST_OF_MAPPINGS)(target, key);
    Type(type)(target, key);
  };
}
